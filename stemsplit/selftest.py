"""Headless self-test: proves an install (or a frozen build) can really separate audio.

``stemsplit --self-test`` runs it. It loads the built-in model on the best
device, separates a few seconds of the demo song that ships beside the weights
and checks what a working install must produce: finite, non-silent stems that
are really separated and that sum back to the mix. It needs no window, no sound
card and no network, so it runs the same on a build machine, in CI and on a
user's computer when something looks wrong.
"""

from __future__ import annotations

import platform
import sys
import time
import traceback
from collections.abc import Callable

import numpy as np

from stemsplit.core.errors import StemsplitError

# Where in the 10.9 s demo song to take the excerpt, and how long it is.
EXCERPT_START_S = 2.0
EXCERPT_S = 5.0
# The stems must sum back to the mix to within this (residual energy vs mix energy).
MAX_RESIDUAL_DB = -50.0
# A stem quieter than this (dBFS RMS) counts as silent: the model produced nothing.
MIN_STEM_DB = -60.0
# A stem this close to the whole mix means nothing was separated (mask stuck at 1).
MIN_DIFFERENCE_DB = -20.0


def _db(x: np.ndarray) -> float:
    """Mean power in dB (relative to full scale for audio in [-1, 1])."""
    power = float(np.mean(np.square(x, dtype=np.float64)))
    return 10.0 * np.log10(power) if power > 0 else -np.inf


def run_self_test(out: Callable[[str], None] = print) -> int:
    """Load the model, separate a demo excerpt and check the result.

    Args:
        out: where report lines go (``print`` by default).

    Returns:
        0 when every check passed, 1 otherwise (the reason is in the report).
    """
    from stemsplit import __version__

    frozen = ", frozen" if getattr(sys, "frozen", False) else ""
    out(f"stemsplit {__version__} self-test (Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}{frozen})")
    try:
        return _run(out)
    except StemsplitError as exc:  # a known problem, already in words (e.g. weights missing)
        out(f"FAIL: {exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - a self-test reports every failure, never crashes
        # Unexpected: the traceback is what a bug report (or a broken build) needs.
        out("".join(traceback.format_exception(exc)).rstrip())
        out(f"FAIL: {type(exc).__name__}: {exc}")
        return 1


def _run(out: Callable[[str], None]) -> int:
    # Imported here so ``stemsplit --help`` and the GUI never pay for torch up front.
    import torch

    from stemsplit.core.audio.read import load_audio
    from stemsplit.core.models.registry import DEFAULT_MODEL, get_model, load_separator
    from stemsplit.core.models.spleeter.weights import demo_song_path

    info = get_model(DEFAULT_MODEL)
    out(f"model:  {info.title}")
    out(f"        {info.licence}")

    t0 = time.perf_counter()
    separator = load_separator(DEFAULT_MODEL, device="auto")
    load_s = time.perf_counter() - t0
    out(f"device: {separator.device} (torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads); model loaded in {load_s:.1f} s")

    path = demo_song_path()
    audio = load_audio(path)
    start = int(EXCERPT_START_S * audio.sample_rate)
    mix = np.ascontiguousarray(audio.samples[:, start: start + int(EXCERPT_S * audio.sample_rate)])
    out(f"input:  {path.name}, {mix.shape[1] / audio.sample_rate:.1f} s, "
        f"{mix.shape[0]} ch, {audio.sample_rate} Hz, {_db(mix):.1f} dBFS")

    t0 = time.perf_counter()
    result = separator.separate(mix, audio.sample_rate)
    sep_s = time.perf_counter() - t0
    duration = mix.shape[1] / audio.sample_rate
    out(f"separated in {sep_s:.2f} s ({duration / sep_s:.1f}x real time) on {separator.device}")

    failures = _check(mix, result.stems, out)
    if info.family == "spleeter":
        from stemsplit.core.models.spleeter import prepared

        # the packaged app has bytecode only: the fused network's cache key must not need
        # sources, or every start pays the 0.6-2 s build again
        if prepared.code_fingerprint() is None:
            failures.append("the fused network cannot be cached (its code has no fingerprint)")
    for line in failures:
        out(f"FAIL: {line}")
    out("self-test " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


def _check(mix: np.ndarray, stems: dict[str, np.ndarray], out: Callable[[str], None]) -> list[str]:
    """Every check on the separated stems; returns what failed, in words."""
    failures = []
    mix_db = _db(mix)
    for name, audio in stems.items():
        if audio.shape != mix.shape:
            failures.append(f"{name}: shape {audio.shape}, expected {mix.shape}")
            continue
        if not np.isfinite(audio).all():
            failures.append(f"{name}: contains NaN or infinite samples")
            continue
        level = _db(audio)
        difference = _db(mix - audio) - mix_db
        out(f"  {name:<14} {level:6.1f} dBFS, differs from the mix by {difference:6.1f} dB")
        if level < MIN_STEM_DB:
            failures.append(f"{name}: silent ({level:.1f} dBFS < {MIN_STEM_DB:.0f})")
        if difference < MIN_DIFFERENCE_DB:
            failures.append(f"{name}: is the whole mix, nothing was separated")
    if failures:
        return failures
    total = np.sum(np.stack(list(stems.values())), axis=0, dtype=np.float64)
    residual = _db(total - mix) - mix_db
    out(f"  stems sum to the mix within {residual:.1f} dB (limit {MAX_RESIDUAL_DB:.0f} dB)")
    if residual > MAX_RESIDUAL_DB:
        failures.append(f"stems do not sum to the mix: residual {residual:.1f} dB")
    return failures
