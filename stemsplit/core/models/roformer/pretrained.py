"""The well-known public RoFormer checkpoints: where they are, what they separate, terms.

Names, URLs and figures are the ones UVR and python-audio-separator use (their
checkpoints are hosted on UVR's public model repository, their configs beside
them). Neither host publishes a SHA-256 next to the file (GitHub release assets
and raw files carry none; Hugging Face shows the LFS SHA-256 on the file's page).
Where public sources state a checkpoint's SHA-256 and size in full, independently
and in agreement, they are pinned here with the sources named, and every
download or file is checked against them. For the others ``sha256`` is None: the
first verified install (the file must load as a state dict of tensors and fit
its config) pins its SHA-256 in the model folder, and a reinstall must match it.
"""

from __future__ import annotations

from dataclasses import dataclass

UVR_MODELS = "https://github.com/TRvlvr/model_repo/releases/download/all_public_uvr_models/"
UVR_CONFIGS = ("https://raw.githubusercontent.com/TRvlvr/application_data/main/"
               "mdx_model_data/mdx_c_configs/")
KIM_REPO = "https://huggingface.co/KimberleyJSN/melbandroformer"
KIM_REVISION = "ac9b0614ab3cd7f77219e18ba494dfd93956c348"  # the revision whose SHA-256 is pinned
URL_ENV = "STEMSPLIT_ROFORMER_URL"  # one base URL for every file (a mirror, or a test server)

NO_LICENCE = "the author states no licence; personal use at your own risk"


@dataclass(frozen=True)
class Pretrained:
    """One published checkpoint and its config.

    Attributes:
        name: registry name.
        title: what the model box shows.
        ckpt, yaml: file names (also the names *install from file* expects).
        ckpt_url, yaml_url: where they are downloaded from.
        stems: what the engine returns (the config's target, then the rest).
        author: who trained it.
        terms: the licence terms shown before the first download.
        sha256: the checkpoint's SHA-256, or None where none is published.
        size: the checkpoint's size in bytes, where known (shown before downloading).
        score: the vocals SDR its publishers report, for the model box.
    """

    name: str
    title: str
    ckpt: str
    yaml: str
    ckpt_url: str
    yaml_url: str
    stems: tuple[str, ...]
    author: str
    terms: str
    sha256: str | None = None
    size: int | None = None
    score: str = ""

    @property
    def licence_key(self) -> str:
        return f"roformer-{self.name}"


def _uvr(name: str, title: str, stem: str, author: str, score: str,
         sha256: str | None = None, size: int | None = None) -> Pretrained:
    return Pretrained(name, title, f"{stem}.ckpt", f"{stem}.yaml", UVR_MODELS + f"{stem}.ckpt",
                      UVR_CONFIGS + f"{stem}.yaml", ("vocals", "other"), author,
                      f"{title}, trained by {author}, from UVR's public model repository "
                      f"({UVR_MODELS}). {NO_LICENCE[0].upper()}{NO_LICENCE[1:]}.",
                      sha256=sha256, size=size, score=score)


PRETRAINED: dict[str, Pretrained] = {p.name: p for p in (
    # SHA-256 and size as stated in full by several unrelated public projects that pin
    # this UVR release asset (GitHub code search, 2026-12: the Kaor app's UVR downloader,
    # UVR_EXPECTED_SHA256 / UVR_EXPECTED_SIZE; a BS-RoFormer model card giving URL, size
    # and SHA256; an audio-separator provenance record, weights_sha256), all agreeing.
    _uvr("bs-roformer-viperx-1297", "BS-RoFormer vocals (viperx, ep 317)",
         "model_bs_roformer_ep_317_sdr_12.9755", "viperx", "SDR 12.97 (author's validation)",
         sha256="5b84f37e8d444c8cb30c79d77f613a41c05868ff9c9ac6c7049c00aefae115aa",
         size=639_331_213),
    _uvr("bs-roformer-viperx-1296", "BS-RoFormer vocals (viperx, ep 368)",
         "model_bs_roformer_ep_368_sdr_12.9628", "viperx", "SDR 12.96 (author's validation)"),
    _uvr("mel-roformer-viperx-1143", "Mel-Band RoFormer vocals (viperx, ep 3005)",
         "model_mel_band_roformer_ep_3005_sdr_11.4360", "viperx",
         "SDR 11.44 (author's validation)"),
    Pretrained(
        "mel-roformer-kim", "Mel-Band RoFormer vocals (Kimberley Jensen)",
        "MelBandRoformer.ckpt", "config_vocals_mel_band_roformer_kj.yaml",
        f"{KIM_REPO}/resolve/{KIM_REVISION}/MelBandRoformer.ckpt",
        "https://raw.githubusercontent.com/ZFTurbo/Music-Source-Separation-Training/main/"
        "configs/KimberleyJensen/config_vocals_mel_band_roformer_kj.yaml",
        ("vocals", "other"), "Kimberley Jensen",
        "Mel-Band RoFormer vocals trained by Kimberley Jensen, from her Hugging Face page "
        "(KimberleyJSN/melbandroformer); its config comes from ZFTurbo's "
        "Music-Source-Separation-Training. stemsplit could not confirm any licence for these "
        "weights: treat them as if the author states no licence; personal use at your own "
        "risk.",
        # Hugging Face's LFS SHA-256 of the file at the revision in the URL, as stated in
        # full with its size by public projects that pin it (mchosc/remiqora's RoFormer
        # setup: CHECKPOINT_SHA256, CHECKPOINT_SIZE, MODEL_REVISION; another project's
        # notes record the Hugging Face value agreeing with their own computation).
        sha256="87201f4d31afb5bc79993230fc49446918425574db48c01c405e44f365c7559e",
        size=913_106_900, score="vocals SDR 10.98 on MVSep's multisong benchmark"),
)}


def get(name: str) -> Pretrained:
    return PRETRAINED[name]
