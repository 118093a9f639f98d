"""What the model box says about each model: its stems, its speed here, its licence.

Speed is a figure this machine measured (the last finished run of that model,
kept in the settings under ``gui.model_speed``) or else an estimate, always
labelled "about" and saying where it comes from: this project's benchmarks on a
2-core CPU. No Qt here: the glue (``models.choice_glue``) feeds the combo box.
"""

from __future__ import annotations

from stemsplit.gui.common.names import display_name

SETTINGS_KEY = "gui.model_speed"
SHORT_SONG_S = 30.0  # below this the last run is told as it was, not as a rate
MAX_ENTRIES = 200  # models remembered (the settings check caps it too)
DEVICE_WORDS = {"cpu": "the CPU", "cuda": "the CUDA GPU", "mps": "the Apple GPU"}

# Seconds of work per minute of song on this project's 2-core CPU machines, by model
# name, then by family. Sources: README "Figures" (benchmarks/speed.py: 2stems, 4 min in
# 5.4 s), speed_htdemucs.py, speed_roformer.py (bf16 chunk cost plus the 25 % overlap's
# third more chunks), and one run of each classic tool on the demo song (heavier per
# minute on long songs: REPET-SIM's similarity search grows with the length).
ESTIMATES_S = {
    "2stems": 1.5, "2stems-16kHz": 1.5, "4stems": 3.0, "5stems": 3.5,
    "htdemucs": 27.0, "htdemucs_6s": 27.0, "htdemucs_ft": 120.0,
    "bs-roformer-viperx-1297": 490.0, "bs-roformer-viperx-1296": 490.0,
    "hpss": 5.0, "hpss_residual": 5.0, "repet": 2.0, "centre": 1.0, "midside": 1.0,
}
FAMILY_ESTIMATES_S = {"spleeter": 1.5, "roformer": 240.0}  # roformer: Mel-Band 384 x 6


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = f"{seconds / 60:.1f}".removesuffix(".0") if seconds < 600 else f"{seconds / 60:.0f}"
    return f"{minutes} min"


def estimate_s_per_min(choice) -> float | None:
    """The benchmark estimate for a ModelChoice (None: nothing honest to say)."""
    return ESTIMATES_S.get(choice.name, FAMILY_ESTIMATES_S.get(choice.family))


def speed_text(choice, measured: dict | None) -> str:
    """One line on the speed: the last run here, or an estimate that says it is one."""
    if measured:
        kind, _, precision = measured["device"].partition(" · ")  # "cpu · bf16"
        device = DEVICE_WORDS.get(kind, kind) + (f", {precision}" if precision else "")
        run = (f"{_duration(measured['song_s'])} of song in {_duration(measured['run_s'])} "
               f"on {device}, loading the model not counted")
        if measured["song_s"] < SHORT_SONG_S:  # per-run costs would swell a per-minute rate
            return f"Speed here: last run, {run} (a short song)"
        return (f"Speed here: {_duration(measured['s_per_min'])} per minute of song "
                f"(last run, {run})")
    guess = estimate_s_per_min(choice)
    if guess is None:
        return "Speed: not measured yet; the first run on this machine will tell"
    return (f"Speed: about {_duration(guess)} per minute of song on a 2-core CPU "
            "(this project's benchmarks; not run on this machine yet; a GPU is faster)")


def tooltip(choice, measured: dict | None) -> str:
    """The model box's tooltip for one model: title, stems, speed, licence."""
    stems = ", ".join(display_name(s) for s in choice.stems)
    lines = [choice.title, f"Stems: {stems}", speed_text(choice, measured),
             f"Licence: {choice.licence}"]
    if not choice.installed:
        size = f" (about {choice.download_mb} MB)" if choice.download_mb else ""
        lines.append(f"Not installed: choosing it offers the download{size}")
    return "\n".join(lines)


def measured(settings, name: str) -> dict | None:
    """The last run's figures for model ``name`` on this machine, or None."""
    return settings.get(SETTINGS_KEY).get(name)


def record(settings, name: str, device: str, song_s: float, run_s: float) -> dict | None:
    """Remember a finished run of ``name``: ``run_s`` seconds for ``song_s`` of song."""
    if round(song_s, 2) <= 0 or round(run_s, 3) <= 0:
        return None
    song_s, run_s = round(song_s, 2), round(run_s, 3)  # the rate agrees with what is shown
    entry = {"device": (device or "cpu")[:40], "song_s": song_s, "run_s": run_s,
             "s_per_min": round(run_s / (song_s / 60), 3)}
    table = {k: v for k, v in settings.get(SETTINGS_KEY).items() if k != name}
    table[name] = entry  # the newest last: the oldest go first when the table is full
    settings.set(SETTINGS_KEY, dict(list(table.items())[-MAX_ENTRIES:]))
    return entry
