"""The classic separators (no weights): speed and memory on a long song, quality on MUSDB.

Each separator runs in a fresh process on the demo song looped to the length
asked for (default 10 minutes), on 2 threads: seconds, real-time factor, peak
RSS. Quality: SDR (whole excerpt, dB) on the MUSDB18 excerpt that stempeg
ships, each separator's stems mapped to vocals / accompaniment (or drums for
HPSS's percussive stem), beside the built-in U-Net; and MISI phase refinement
of the U-Net's stems (Gunawan & Sen 2010), which stemsplit does not offer
because it lowers SDR here.

    .venv/bin/python benchmarks/classic.py [--minutes 10] [--skip-speed]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.musdb import load_musdb_excerpt, sdr  # noqa: E402

METHODS = ("hpss", "hpss_residual", "repet", "centre", "midside")
# stem of each separator -> the MUSDB target it is scored against
TARGETS = {
    "2stems": {"vocals": "vocals", "accompaniment": "accompaniment"},
    "repet": {"foreground": "vocals", "background": "accompaniment"},
    "centre": {"centre": "vocals", "sides": "accompaniment"},
    "midside": {"mid": "vocals", "side": "accompaniment"},
    "hpss": {"percussive": "drums"},
    "hpss_residual": {"percussive": "drums"},
}

_CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads(2)
from stemsplit.core.audio.read import load_audio
from stemsplit.core.models.registry import load_separator
from stemsplit.core.models.spleeter.weights import demo_song_path
name, minutes = sys.argv[1], float(sys.argv[2])
song = load_audio(demo_song_path())
n = int(minutes * 60 * song.sample_rate)
audio = np.ascontiguousarray(np.resize(song.samples, (2, n)))
start = time.perf_counter()
stems = load_separator(name, device="cpu").separate(audio, song.sample_rate)
seconds = time.perf_counter() - start
error = float(np.abs(stems.mix() - audio).max())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print(json.dumps({"seconds": seconds, "rss_gb": rss, "sum_error": error}))
"""


def speed(minutes: float) -> None:
    print(f"\nSpeed and memory, {minutes:g} min of the demo song looped, 2 threads, "
          "fresh process each")
    print(f"{'separator':<15}{'seconds':>9}{'x real time':>13}{'peak RSS GB':>13}"
          f"{'max |sum - mix|':>17}")
    for name in METHODS:
        out = subprocess.run([sys.executable, "-c", _CHILD, name, str(minutes)], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{name:<15}{row['seconds']:>9.1f}{minutes * 60 / row['seconds']:>13.1f}"
              f"{row['rss_gb']:>13.2f}{row['sum_error']:>17.1e}")


def misi(mix_spec: torch.Tensor, stem_specs: torch.Tensor, window: torch.Tensor, length: int,
         iterations: int) -> torch.Tensor:
    """MISI: keep each masked stem's magnitude, share the error against the mix, re-phase.

    ``mix_spec`` ``(..., K, T)``, ``stem_specs`` ``(S, ..., K, T)`` -> ``(S, ..., length)``.
    """
    from stemsplit.core.engine import dsp

    stems = dsp.istft(stem_specs, 4096, 1024, window, length)
    magnitude = stem_specs.abs()
    mix = dsp.istft(mix_spec, 4096, 1024, window, length)
    for _ in range(iterations):
        stems = stems + (mix - stems.sum(dim=0)) / stems.shape[0]
        spec = dsp.stft(stems.reshape(-1, length), 4096, 1024, window)
        spec = spec.reshape(*stems.shape[:-1], *spec.shape[-2:])
        stems = dsp.istft(magnitude * spec / spec.abs().clamp_min(1e-12), 4096, 1024, window,
                          length)
    return stems


class _MisiDsp:
    """Stands in for the U-Net engine's ``dsp`` module: its inverse STFT of the masked
    stems (whose masks sum to one, so their sum is the mixture) becomes MISI."""

    def __init__(self, iterations: int) -> None:
        from stemsplit.core.engine import dsp

        self._dsp, self.iterations = dsp, iterations

    def __getattr__(self, name):
        return getattr(self._dsp, name)

    def istft(self, spec, n_fft, hop, window, length):
        return misi(spec.sum(dim=0), spec, window, length, self.iterations)


def quality() -> None:
    from stemsplit.core.models.registry import load_separator

    torch.set_num_threads(2)
    truth, rate = load_musdb_excerpt()
    mix = truth["mixture"]
    print("\nQuality on the MUSDB18 excerpt (stempeg), SDR over the whole excerpt in dB")
    print(f"{'separator':<28}{'stem -> target':<34}{'SDR':>7}")
    results = {}
    for name, mapping in TARGETS.items():
        stems = load_separator(name, device="cpu").separate(mix, rate)
        results[name] = stems
        for stem, target in mapping.items():
            print(f"{name:<28}{stem + ' -> ' + target:<34}"
                  f"{sdr(truth[target], stems.stems[stem]):>7.2f}")
    from stemsplit.core.models.spleeter import engine as unet_engine

    real_dsp = unet_engine.dsp
    try:
        for iterations in (3, 10):
            unet_engine.dsp = _MisiDsp(iterations)
            stems = load_separator("2stems", device="cpu").separate(mix, rate)
            for stem in ("vocals", "accompaniment"):
                print(f"{'2stems + MISI x' + str(iterations):<28}{stem + ' -> ' + stem:<34}"
                      f"{sdr(truth[stem], stems.stems[stem]):>7.2f}")
    finally:
        unet_engine.dsp = real_dsp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    quality()
    if not args.skip_speed:
        speed(args.minutes)


if __name__ == "__main__":
    main()
