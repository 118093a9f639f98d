"""Small RoFormer configs in the community's YAML layout, and random weights for them."""

from __future__ import annotations

import torch

from stemsplit.core.models.roformer.checkpoint import RoformerWeights
from stemsplit.core.models.roformer.config import RoformerConfig, parse_yaml
from tests.core.models.roformer._reference import our_state, randomise, reference_model

HOP = 441


def small_yaml(arch: str = "bs", stereo: bool = True, chunk_frames: int = 100,
               num_stems: int = 1, linear: int = 0) -> str:
    """A config shaped like the published ones, at a size a test can run quickly."""
    bands = ("  freqs_per_bands: !!python/tuple\n" + "".join(
        f"  - {b}\n" for b in [8] * 32 + [257])) if arch == "bs" else "  num_bands: 24\n"
    instruments = "  - vocals\n  - other\n" if num_stems <= 2 else \
        "  - drums\n  - bass\n  - other\n  - vocals\n"
    target = "  target_instrument: vocals\n" if num_stems == 1 else ""
    return (
        "audio:\n"
        f"  chunk_size: {HOP * chunk_frames}\n"
        f"  num_channels: {2 if stereo else 1}\n"
        "  sample_rate: 44100\n"
        "model:\n"
        "  dim: 32\n  depth: 2\n"
        f"  stereo: {'true' if stereo else 'false'}\n"
        f"  num_stems: {num_stems}\n"
        "  time_transformer_depth: 1\n  freq_transformer_depth: 1\n"
        f"  linear_transformer_depth: {linear}\n"
        f"{bands}"
        "  dim_head: 16\n  heads: 4\n  attn_dropout: 0.1\n  ff_dropout: 0.1\n"
        "  flash_attn: true\n  stft_n_fft: 1024\n"
        f"  stft_hop_length: {HOP}\n  stft_win_length: 1024\n  stft_normalized: false\n"
        "  mask_estimator_depth: 2\n"
        "  multi_stft_resolutions_window_sizes: !!python/tuple\n  - 4096\n  - 2048\n"
        "training:\n  instruments:\n"
        f"{instruments}{target}"
        "inference:\n  num_overlap: 2\n")


def small_config(**kwargs) -> RoformerConfig:
    return parse_yaml(small_yaml(**kwargs))


def reference_and_weights(config: RoformerConfig, seed: int = 0
                          ) -> tuple[torch.nn.Module, RoformerWeights]:
    """The reference package's network with random weights, and the same weights for ours."""
    ref = reference_model(config)
    randomise(ref, seed)
    return ref, RoformerWeights(config, our_state(ref))
