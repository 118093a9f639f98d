"""Speed and memory of the HT-Demucs models: seconds per minute of audio and peak RSS.

RANDOM WEIGHTS: no pretrained weights may be downloaded here, so each model is
installed with random weights of its published architecture
(``htdemucs.pretrained.REFERENCE_KWARGS``, float16 as published). The
separations are noise, but the work is the same: speed and memory do not depend
on the weight values.

Each model runs in a fresh process (``stemsplit separate --model NAME --device
cpu``: read the file, separate, write 24-bit WAVs) on the demo song looped to
the given length; wall time and peak RSS come from the operating system (wait4).

    .venv/bin/python benchmarks/speed_htdemucs.py [--minutes 1] [--models htdemucs ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.speed import make_input, measure, precisions  # noqa: E402

MODELS = ("htdemucs", "htdemucs_6s", "htdemucs_ft")


def install_random_weights(name: str, seed: int = 0) -> None:
    """Install ``name`` (under the current STEMSPLIT_HOME) with random weights."""
    import torch

    from stemsplit.core.models import store as model_store
    from stemsplit.core.models.htdemucs import pretrained
    from stemsplit.core.models.htdemucs.checkpoint import BagFile, Member, write_bag
    from stemsplit.core.models.htdemucs.config import HTDemucsConfig
    from stemsplit.core.models.htdemucs.model import HTDemucs

    model = pretrained.get(name)
    config = HTDemucsConfig.from_kwargs(pretrained.REFERENCE_KWARGS[name])
    members = []
    for i in range(len(model.files)):
        torch.manual_seed(seed + i)
        net = HTDemucs(config)
        members.append(Member(config, {k: v.half() for k, v in net.state_dict().items()}))
    write_bag(model_store.weights_path(name), name,
              BagFile(members, model.bag_weights(), model.segment),
              {"note": "random weights for benchmarking"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    args = parser.parse_args()
    print("HT-Demucs on the CPU, RANDOM WEIGHTS (same work as the real ones), "
          f"{os.cpu_count()} cores, demo song looped to {args.minutes:g} min")
    print(f"{'model':12} {'prec.':>5} {'networks':>8} {'wall s':>8} {'s/min audio':>12} "
          f"{'x real time':>12} {'peak RSS GB':>12}")
    with tempfile.TemporaryDirectory(prefix="stemsplit-bench-") as tmp:
        folder = Path(tmp)
        song = make_input(folder, args.minutes)
        os.environ["STEMSPLIT_HOME"] = str(folder / "home")
        env = dict(os.environ)
        for name in args.models:
            install_random_weights(name)
            from stemsplit.core.models.htdemucs import pretrained

            for precision in precisions():  # fp32, and bf16 where the CPU has it natively
                out = folder / f"out-{name}"
                cmd = [sys.executable, "-m", "stemsplit", "separate", str(song), "-o", str(out),
                       "--model", name, "--device", "cpu", "--quiet", "--overwrite",
                       "--precision", precision]
                wall, rss = measure(cmd, env)
                per_min = wall / args.minutes
                print(f"{name:12} {precision:>5} {len(pretrained.get(name).files):>8} "
                      f"{wall:>8.1f} {per_min:>12.1f} {60 / per_min:>11.2f}x {rss:>12.2f}",
                      flush=True)


if __name__ == "__main__":
    main()
