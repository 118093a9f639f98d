"""dsp.istft against torch.istft (the reference), and stft -> istft round trips."""

import pytest
import torch

from stemsplit.core.engine import dsp


def _reference(spec, n_fft, hop, window, length):
    flat = spec.reshape(-1, *spec.shape[-2:])
    out = torch.istft(flat, n_fft=n_fft, hop_length=hop, window=window, center=True,
                      length=length)
    return out.reshape(*spec.shape[:-2], length)


@pytest.mark.parametrize(("n_fft", "hop", "frames", "length_delta"), [
    (4096, 1024, 40, 0), (4096, 1024, 40, -3000), (2048, 512, 17, 0), (1024, 256, 3, 0),
    (512, 128, 2, 0),
])
def test_istft_matches_torch(n_fft, hop, frames, length_delta):
    g = torch.Generator().manual_seed(n_fft + frames)
    k = n_fft // 2 + 1
    spec = torch.complex(torch.randn(2, 3, k, frames, generator=g),
                         torch.randn(2, 3, k, frames, generator=g))
    window = dsp.hann(n_fft)
    length = hop * (frames - 1) + length_delta
    got = dsp.istft(spec, n_fft, hop, window, length)
    want = _reference(spec, n_fft, hop, window, length)
    assert got.shape == want.shape == (2, 3, length)
    scale = want.abs().max().item()
    assert (got - want).abs().max().item() <= 1e-5 * scale


def test_istft_past_the_last_frame_is_silent():
    # torch.istft refuses a length its frames do not cover; ours pads zeros
    window = dsp.hann(4096)
    spec = dsp.stft(torch.randn(2, 1024 * 20), 4096, 1024, window)
    got = dsp.istft(spec, 4096, 1024, window, 1024 * 25)
    covered = 1024 * (spec.shape[-1] - 1)
    assert torch.allclose(got[:, :covered], _reference(spec, 4096, 1024, window, covered),
                          atol=1e-5)
    assert not got[:, covered:].any()


def test_istft_is_the_inverse_of_stft():
    g = torch.Generator().manual_seed(1)
    audio = torch.randn(2, 1024 * 60, generator=g)
    window = dsp.hann(4096)
    back = dsp.istft(dsp.stft(audio, 4096, 1024, window), 4096, 1024, window, audio.shape[-1])
    assert (back - audio).abs().max().item() < 1e-5


def test_istft_with_a_hop_that_does_not_divide_falls_back_to_torch():
    window = dsp.hann(1000)
    audio = torch.randn(1, 300 * 30)
    spec = dsp.stft(audio, 1000, 300, window)
    got = dsp.istft(spec, 1000, 300, window, audio.shape[-1])
    assert torch.equal(got, _reference(spec, 1000, 300, window, audio.shape[-1]))
