"""``ModelInfo``: everything the engine and the window need to know about one model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stemsplit.core.models.spleeter.unet import UNetConfig


@dataclass(frozen=True)
class ModelInfo:
    """Everything the engine needs to know about one model.

    Attributes:
        name: short id used on the command line (``2stems``).
        title: what the GUI shows.
        stems: stem names, in the order of the weight sets.
        sample_rate: the rate the network was trained at.
        n_fft, hop: STFT frame and hop in samples (periodic Hann window).
        bins: frequency bins the network sees (a multiple of 64).
        frames: STFT frames per network segment (a multiple of 64).
        unet: architecture switches.
        load_weights: returns the weights, or raises ModelError: for the Spleeter
            family one dict of arrays per stem, for ``htdemucs`` a
            ``htdemucs.checkpoint.BagFile``.
        is_installed: whether the weights are on this machine.
        licence: one line, shown in Help > About and ``stemsplit models list``.
        archive: name of the release archive to download (``model_store``), or
            None for a built-in model.
        download_mb: approximate download size, shown before downloading.
        family: the engine that runs it: "spleeter" (U-Nets) or "htdemucs".
        licence_terms: the full terms to show before the first download.
        licence_key: None when nothing needs accepting; else the key under which
            acceptance is recorded (``core.licences``).
        wiener_iterations: the Wiener post-filter's default for this model (0: off);
            on only where ``stemsplit evaluate`` measured that it raises SDR.
        summary: one more line for ``stemsplit models list`` (a trained model's
            base, data and validation SDR).
    """

    name: str
    title: str
    stems: tuple[str, ...]
    load_weights: Callable[[], Any]
    is_installed: Callable[[], bool]
    sample_rate: int = 44100
    n_fft: int = 4096
    hop: int = 1024
    bins: int = 1024
    frames: int = 512
    unet: UNetConfig = field(default_factory=UNetConfig)
    licence: str = "Deezer Spleeter pretrained weights, MIT licence"
    archive: str | None = None
    download_mb: int | None = None
    family: str = "spleeter"
    licence_terms: str | None = None
    licence_key: str | None = None
    wiener_iterations: int = 0
    summary: str | None = None
