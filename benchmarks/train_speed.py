"""Training speed on this machine: seconds per optimiser step of the 2-stem U-Nets.

Real data (the MUSDB excerpt that stempeg ships, cut in three tracks), the
built-in model as the base, each setting in a fresh process on 2 threads:
window length x batch size x precision, steps per second and what 1000 steps
take. The defaults of `stemsplit train` are 512 frames (11.9 s) x 4.

    .venv/bin/python benchmarks/train_speed.py [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = [(64, 1, "fp32"), (64, 1, "bf16"), (512, 1, "fp32"), (512, 1, "bf16"),
            (512, 4, "bf16")]

_CHILD = r"""
import json, os, sys, time
from pathlib import Path
import torch
torch.set_num_threads(2)
from stemsplit.core.models.registry import get_model
from stemsplit.core.training import data
from stemsplit.core.training.trainer import TrainConfig, Trainer
root, precision = sys.argv[1], sys.argv[4]
frames, batch, steps = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5])
tracks = data.load_tracks([Path(root)], ("vocals", "accompaniment"), data.window_samples(frames))
cfg = TrainConfig(name="bench", stems=("vocals", "accompaniment"), steps=steps, batch_size=batch,
                  frames=frames, precision=precision)
t = Trainer(cfg, tracks, [], get_model("2stems"), {})
t.train_step()  # first step pays one-off costs (allocations, oneDNN kernels)
start = time.perf_counter()
for _ in range(steps):
    t.train_step()
print(json.dumps({"s_per_step": (time.perf_counter() - start) / steps}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests._training_data import write_musdb_tracks

    with tempfile.TemporaryDirectory() as tmp:
        root = write_musdb_tracks(Path(tmp) / "data")
        print(f"{'window':>8}{'batch':>7}{'precision':>11}{'s/step':>9}{'steps/s':>9}"
              f"{'1000 steps':>12}")
        for frames, batch, precision in SETTINGS:
            out = subprocess.run([sys.executable, "-c", _CHILD, str(root), str(frames),
                                  str(batch), precision, str(args.steps)], cwd=ROOT,
                                 capture_output=True, text=True, check=True)
            s = json.loads(out.stdout.strip().splitlines()[-1])["s_per_step"]
            print(f"{frames * 1024 / 44100:>7.1f}s{batch:>7}{precision:>11}{s:>9.2f}"
                  f"{1 / s:>9.2f}{s * 1000 / 60:>10.0f} min")


if __name__ == "__main__":
    main()
