"""The MUSDB18 excerpt that the ``stempeg`` package ships, with its true stems.

Streams of a ``.stem.mp4``: 0 mixture, 1 drums, 2 bass, 3 other, 4 vocals.
Decoded with PyAV; no system ffmpeg needed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import numpy as np

STREAMS = ("mixture", "drums", "bass", "other", "vocals")


def musdb_excerpt_path() -> Path:
    spec = importlib.util.find_spec("stempeg")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("install the test data: pip install --no-deps stempeg==0.2.6")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / \
        "The Easton Ellises - Falcon 69.stem.mp4"


def load_musdb_excerpt() -> tuple[dict[str, np.ndarray], int]:
    """Returns ({mixture, drums, bass, other, vocals, accompaniment}: (2, N) float32, rate)."""
    out = {}
    rate = 44100
    with av.open(str(musdb_excerpt_path())) as container:
        for index, name in enumerate(STREAMS):
            container.seek(0)
            stream = container.streams.audio[index]
            rate = stream.codec_context.sample_rate
            blocks = [f.to_ndarray().reshape(2, -1) for f in container.decode(stream)]
            out[name] = np.concatenate(blocks, axis=1).astype(np.float32)
    n = min(x.shape[1] for x in out.values())
    out = {k: v[:, :n] for k, v in out.items()}
    out["accompaniment"] = out["drums"] + out["bass"] + out["other"]
    return out, rate


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """10 log10(|ref|^2 / |ref - est|^2) over the whole excerpt, in dB."""
    err = np.sum((reference - estimate) ** 2)
    return float(10 * np.log10(np.sum(reference ** 2) / max(err, 1e-20)))


def band_energy(x: np.ndarray, rate: int, low_hz: float) -> float:
    """Energy of ``x`` above ``low_hz``."""
    spec = np.fft.rfft(x, axis=-1)
    freqs = np.fft.rfftfreq(x.shape[-1], 1 / rate)
    return float(np.sum(np.abs(spec[..., freqs >= low_hz]) ** 2))
