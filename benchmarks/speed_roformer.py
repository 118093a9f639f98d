"""Seconds per minute of audio and peak memory of the RoFormers on the CPU.

Random weights in the published sizes (read from configs shaped like the
published ones: viperx's BS-RoFormer ep 317, 512 x 12, and Kimberley Jensen's
Mel-Band RoFormer, 384 x 6, both stereo, 8 s chunks), so the figures are what a
user with those checkpoints gets. Each architecture runs in its own process so
peak RSS is its own.

    .venv/bin/python benchmarks/speed_roformer.py [--seconds 30] [--precision auto]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BANDS = [2] * 24 + [4] * 12 + [12] * 8 + [24] * 8 + [48] * 8 + [128, 129]
PUBLISHED = {
    "bs_roformer (viperx ep 317: dim 512, depth 12)": {
        "dim": 512, "depth": 12, "freqs_per_bands": BANDS},
    "mel_band_roformer (Kim: dim 384, depth 6)": {
        "dim": 384, "depth": 6, "num_bands": 60},
}
COMMON = {"stereo": True, "num_stems": 1, "time_transformer_depth": 1,
          "freq_transformer_depth": 1, "dim_head": 64, "heads": 8, "stft_n_fft": 2048,
          "stft_hop_length": 441, "stft_win_length": 2048, "mask_estimator_depth": 2}


def measure(label: str, seconds: float, precision: str) -> dict:
    import resource
    import time

    import numpy as np
    import torch

    from stemsplit.core.engine.separator import EngineOptions
    from stemsplit.core.models.info import ModelInfo
    from stemsplit.core.models.roformer.checkpoint import RoformerWeights
    from stemsplit.core.models.roformer.config import from_dict
    from stemsplit.core.models.roformer.engine import RoformerSeparator
    from stemsplit.core.models.roformer.model import Roformer

    config = from_dict({"model": {**COMMON, **PUBLISHED[label]},
                        "audio": {"chunk_size": 352800, "num_channels": 2},
                        "training": {"instruments": ["vocals", "other"],
                                     "target_instrument": "vocals"}})
    torch.manual_seed(0)
    net = Roformer(config)
    weights = RoformerWeights(config, net.state_dict())
    params = sum(p.numel() for p in net.parameters())
    del net
    info = ModelInfo(name="bench", title="bench", stems=config.stems,
                     load_weights=lambda: weights, is_installed=lambda: True, family="roformer")
    sep = RoformerSeparator(info, device="cpu", options=EngineOptions(precision=precision))
    audio = (0.1 * np.random.default_rng(0).standard_normal((2, int(seconds * 44100)))
             ).astype(np.float32)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    sep.separate(audio, 44100)
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds / threads: what the wall time would be on an otherwise idle machine
    cpu = (usage.ru_utime + usage.ru_stime - cpu0) / torch.get_num_threads()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"arch": label, "params_m": params / 1e6, "precision": precision,
            "autocast": str(sep.autocast), "threads": torch.get_num_threads(),
            "s_per_min": elapsed / seconds * 60, "realtime_x": seconds / elapsed,
            "cpu_s_per_min": cpu / seconds * 60,
            "peak_rss_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.seconds, args.precision)))
        return
    for label in PUBLISHED:
        out = subprocess.run([sys.executable, __file__, "--one", label, "--seconds",
                              str(args.seconds), "--precision", args.precision],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{row['arch']}: {row['params_m']:.1f} M parameters, {row['precision']} "
              f"(autocast {row['autocast']}), {row['threads']} threads: "
              f"{row['s_per_min']:.0f} s per minute of audio ({row['realtime_x']:.2f}x real "
              f"time; CPU time / threads {row['cpu_s_per_min']:.0f} s per minute), "
              f"peak RSS {row['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
