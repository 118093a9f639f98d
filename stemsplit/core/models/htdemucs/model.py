"""The HT-Demucs network (follows demucs ``htdemucs.py``, MIT code; inference only).

Two U-Nets run side by side: one over the spectrogram (complex values as
channels, convolving along frequency), one over the waveform (convolving along
time). Their deepest features meet in a cross-domain transformer; each decoder
then rebuilds its own estimate of every source, and the two are summed.

Parameter names equal demucs's, so ``model.load_state_dict(checkpoint_state)``
works as it is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stemsplit.core.models.htdemucs import spec
from stemsplit.core.models.htdemucs.config import HTDemucsConfig
from stemsplit.core.models.htdemucs.layers import DecoderLayer, EncoderLayer, FrequencyEmbedding
from stemsplit.core.models.htdemucs.transformer import CrossTransformer


class HTDemucs(nn.Module):
    """Hybrid Transformer Demucs.

    Args:
        config: hyper-parameters (a checkpoint's ``kwargs``, see ``config.py``).

    Shape: ``(B, audio_channels, L)`` with ``L <= config.training_length`` ->
    ``(B, len(sources), audio_channels, L)``. Shorter inputs are zero-padded to
    the training length (what the network was trained on) and the output cut back.
    """

    def __init__(self, config: HTDemucsConfig) -> None:
        super().__init__()
        config.check_supported()
        self.config = config
        # None: float32 throughout; bf16/fp16: the networks run under autocast (set by the engine)
        self.compute_dtype: torch.dtype | None = None
        self.sources = config.sources
        self.samplerate = config.samplerate
        self.audio_channels = config.audio_channels
        self.nfft = config.nfft
        self.depth = config.depth
        self.bottom_channels = config.bottom_channels
        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()
        self.tencoder = nn.ModuleList()
        self.tdecoder = nn.ModuleList()
        self.freq_emb: FrequencyEmbedding | None = None
        self.freq_emb_scale = config.freq_emb
        self._build_unets(config)
        dim = int(config.channels * config.growth ** (config.depth - 1))
        if config.bottom_channels:
            self.channel_upsampler = nn.Conv1d(dim, config.bottom_channels, 1)
            self.channel_downsampler = nn.Conv1d(config.bottom_channels, dim, 1)
            self.channel_upsampler_t = nn.Conv1d(dim, config.bottom_channels, 1)
            self.channel_downsampler_t = nn.Conv1d(config.bottom_channels, dim, 1)
            dim = config.bottom_channels
        self.crosstransformer = CrossTransformer(dim, config) if config.t_layers > 0 else None

    def _build_unets(self, c: HTDemucsConfig) -> None:
        """Both branches' encoder and decoder layers, outermost first (as demucs builds them)."""
        dconv_kw = {"depth": c.dconv_depth, "compress": c.dconv_comp, "init": c.dconv_init,
                    "gelu": True}
        stereo = c.audio_channels
        chin, chin_z = stereo, stereo * 2           # complex as channels: 2 per audio channel
        chout = c.channels_time or c.channels
        chout_z = c.channels
        freqs = c.nfft // 2
        for index in range(c.depth):
            norm = index >= c.norm_starts
            freq = freqs > 1
            ker, stri, pad, last_freq = c.kernel_size, c.stride, True, False
            if not freq:        # the frequency axis is used up: plain time convolutions
                ker, stri = c.time_stride * 2, c.time_stride
            if freq and freqs <= c.kernel_size:     # this layer collapses the last rows
                ker, pad, last_freq = freqs, False, True
            common = dict(norm=norm, rewrite=c.rewrite, norm_groups=c.norm_groups,
                          dconv_kw=dconv_kw)
            if last_freq:
                chout_z = max(chout, chout_z)
                chout = chout_z
            self.encoder.append(EncoderLayer(
                chin_z, chout_z, ker, stri, freq=freq, pad=pad, dconv=bool(c.dconv_mode & 1),
                context=c.context_enc, **common))
            if freq:
                self.tencoder.append(EncoderLayer(
                    chin, chout, c.kernel_size, c.stride, freq=False, pad=True,
                    dconv=bool(c.dconv_mode & 1), context=c.context_enc, empty=last_freq,
                    **common))
            if index == 0:      # decoders end in every source's channels
                chin = stereo * len(c.sources)
                chin_z = chin * 2
            self.decoder.insert(0, DecoderLayer(
                chout_z, chin_z, last=index == 0, kernel_size=ker, stride=stri, freq=freq,
                pad=pad, dconv=bool(c.dconv_mode & 2), context=c.context, **common))
            if freq:
                self.tdecoder.insert(0, DecoderLayer(
                    chout, chin, last=index == 0, kernel_size=c.kernel_size, stride=c.stride,
                    freq=False, pad=True, dconv=bool(c.dconv_mode & 2), context=c.context,
                    empty=last_freq, **common))
            chin, chin_z = chout, chout_z
            chout, chout_z = int(c.growth * chout), int(c.growth * chout_z)
            if freq:
                freqs = 1 if freqs <= c.kernel_size else freqs // c.stride
            if index == 0 and c.freq_emb:
                self.freq_emb = FrequencyEmbedding(freqs, chin_z, c.emb_scale)

    @property
    def segment(self):
        return self.config.segment

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """Separate ``(B, C, L)`` audio into ``(B, S, C, L)`` sources."""
        length = mix.shape[-1]
        train_length = self.config.training_length if self.config.use_train_segment else length
        if length > train_length:
            raise ValueError(f"input of {length} samples is longer than the model's "
                             f"{train_length}-sample segment")
        if length < train_length:
            mix = F.pad(mix, (0, train_length - length))
        z = self._spectrogram(mix)                              # (B, C, Fq, T) complex
        b, c, fq, t = z.shape
        x = torch.view_as_real(z).permute(0, 1, 4, 2, 3).reshape(b, c * 2, fq, t)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) / (1e-5 + std)
        meant = mix.mean(dim=(1, 2), keepdim=True)
        stdt = mix.std(dim=(1, 2), keepdim=True)
        xt = (mix - meant) / (1e-5 + stdt)

        # Only the networks run in reduced precision (autocast: convolutions, attention
        # and linear layers); STFT, normalisation and iSTFT stay float32.
        with torch.autocast(mix.device.type, dtype=self.compute_dtype or torch.float32,
                            enabled=self.compute_dtype is not None):
            x, xt = self._encode_transform_decode(x, xt)
        x, xt = x.float(), xt.float()

        n_src = len(self.sources)
        x = x.view(b, n_src, -1, fq, t) * std[:, None] + mean[:, None]
        # complex as channels: channel pairs are (real, imaginary) of each audio channel
        zout = torch.view_as_complex(
            x.view(b, n_src, -1, 2, fq, t).permute(0, 1, 2, 4, 5, 3).contiguous())
        wave = self._inverse_spectrogram(zout, train_length).to(mix.device)
        xt = xt.view(b, n_src, -1, train_length) * stdt[:, None] + meant[:, None]
        return (xt + wave)[..., :length]

    def _spectrogram(self, mix: torch.Tensor) -> torch.Tensor:
        if mix.device.type in ("mps", "xpu"):  # no complex FFT there: run it on the CPU
            return spec.spectrogram(mix.cpu(), self.nfft).to(mix.device)
        return spec.spectrogram(mix, self.nfft)

    def _inverse_spectrogram(self, z: torch.Tensor, length: int) -> torch.Tensor:
        if z.device.type in ("mps", "xpu"):
            return spec.inverse_spectrogram(z.cpu(), length)
        return spec.inverse_spectrogram(z, length)

    def _encode_transform_decode(self, x: torch.Tensor,
                                 xt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both U-Nets with the transformer between them.

        Args:
            x: ``(B, 2C, Fq, T)`` normalised spectrogram (real/imag as channels).
            xt: ``(B, C, L)`` normalised waveform.

        Returns:
            ``(B, S * 2C, Fq, T)`` spectrogram estimates and ``(B, S * C, L)`` waveforms.
        """
        saved, saved_t, lengths, lengths_t = [], [], [], []
        for index, encode in enumerate(self.encoder):
            lengths.append(x.shape[-1])
            inject = None
            if index < len(self.tencoder):
                lengths_t.append(xt.shape[-1])
                tenc = self.tencoder[index]
                xt = tenc(xt)
                if tenc.empty:
                    inject = xt     # same stride as the frequency branch now: merge
                else:
                    saved_t.append(xt)
            x = encode(x, inject)
            if index == 0 and self.freq_emb is not None:
                rows = torch.arange(x.shape[-2], device=x.device)
                x = x + self.freq_emb_scale * self.freq_emb(rows).t()[None, :, :, None]
            saved.append(x)

        if self.crosstransformer is not None:
            if self.bottom_channels:
                b, ch, fr, t = x.shape
                x = self.channel_upsampler(x.reshape(b, ch, fr * t)).view(b, -1, fr, t)
                xt = self.channel_upsampler_t(xt)
            x, xt = self.crosstransformer(x, xt)
            if self.bottom_channels:
                b, ch, fr, t = x.shape
                x = self.channel_downsampler(x.reshape(b, ch, fr * t)).view(b, -1, fr, t)
                xt = self.channel_downsampler_t(xt)

        offset = self.depth - len(self.tdecoder)
        for index, decode in enumerate(self.decoder):
            x, pre = decode(x, saved.pop(), lengths.pop())
            if index >= offset:
                tdec = self.tdecoder[index - offset]
                length_t = lengths_t.pop()
                if tdec.empty:      # the branches split here: time continues from `pre`
                    xt, _ = tdec(pre[:, :, 0], None, length_t)
                else:
                    xt, _ = tdec(xt, saved_t.pop(), length_t)
        return x, xt
