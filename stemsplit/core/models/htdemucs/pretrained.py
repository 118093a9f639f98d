"""The published HT-Demucs models: files, checksums, bags, hyper-parameters, licence.

File names and bag weights are those of demucs's ``remote/files.txt`` and
``remote/htdemucs*.yaml``; a file is named ``<signature>-<first 8 hex of its
SHA-256>.th``, which is how a download is verified. The hyper-parameters a
model runs with are always read from its own checkpoint; ``REFERENCE_KWARGS``
below is only our record of them (from demucs's training configuration and the
published file sizes) for building random-weight stand-ins in tests and
benchmarks, where no real weights may be downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

ROOT_URL = "https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/"
URL_ENV = "STEMSPLIT_DEMUCS_URL"  # another base URL (a mirror, or a test server)

LICENCE_KEY = "demucs-weights"
LICENCE = (
    "HT-Demucs pretrained weights by Meta AI (Simon Rouard, Francisco Massa, Alexandre "
    "Défossez). The demucs code is MIT-licensed, but the weights are not: their author "
    "states they are provided for research purposes only "
    "(https://github.com/facebookresearch/demucs/issues/327). stemsplit does not bundle "
    "them; by downloading you accept to use them on those terms.")
LICENCE_SHORT = "HT-Demucs weights (Meta AI): research purposes only, not MIT"

FOUR = ("drums", "bass", "other", "vocals")
SIX = ("drums", "bass", "other", "vocals", "guitar", "piano")


@dataclass(frozen=True)
class Pretrained:
    """One published model (a bag of one or more checkpoint files).

    Attributes:
        name: registry name (``htdemucs_ft``).
        files: checkpoint file names, in bag order.
        sources: the stems, in the network's order.
        weights: per file, per source; None means all ones.
        segment: a bag-level segment override (None for all HT models).
        download_mb: approximate total download.
    """

    name: str
    files: tuple[str, ...]
    sources: tuple[str, ...]
    weights: tuple[tuple[float, ...], ...] | None = None
    segment: float | None = None
    download_mb: int = 0

    def sha256_prefix(self, file: str) -> str:
        """The 8 hex digits of the file's SHA-256 that its name carries."""
        return file.rsplit(".", 1)[0].rsplit("-", 1)[1].lower()

    def bag_weights(self) -> list[list[float]]:
        if self.weights is None:
            return [[1.0] * len(self.sources) for _ in self.files]
        return [list(row) for row in self.weights]


PRETRAINED: dict[str, Pretrained] = {
    "htdemucs": Pretrained("htdemucs", ("955717e8-8726e21a.th",), FOUR, download_mb=84),
    "htdemucs_6s": Pretrained("htdemucs_6s", ("5c90dfd2-34c22ccb.th",), SIX, download_mb=56),
    "htdemucs_ft": Pretrained(
        "htdemucs_ft",
        ("f7e0c4bc-ba3fe64a.th", "d12395a8-e57c48e6.th", "92cfc3b6-ef3bcb9c.th",
         "04573f0d-f3cf25b2.th"),
        FOUR,
        # each fine-tuned model contributes only its own source
        weights=((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0),
                 (0.0, 0.0, 0.0, 1.0)),
        download_mb=336),
}

# htdemucs was trained with demucs's "mmi" grid: encoder and decoder DConv branches
# (dconv_mode 3), a 512-channel transformer (bottom_channels), 5 layers, on 7.8 s
# segments; htdemucs_ft fine-tunes it. htdemucs_6s's file size (~56 MB at fp16) fits
# the same network without the 512-channel projection.
_HT = {"dconv_mode": 3, "bottom_channels": 512, "t_layers": 5, "t_dropout": 0.02,
       "segment": Fraction(39, 5), "samplerate": 44100, "audio_channels": 2}
REFERENCE_KWARGS: dict[str, dict] = {
    "htdemucs": {**_HT, "sources": list(FOUR)},
    "htdemucs_6s": {**_HT, "bottom_channels": 0, "sources": list(SIX)},
    "htdemucs_ft": {**_HT, "sources": list(FOUR)},
}


def get(name: str) -> Pretrained:
    return PRETRAINED[name]
