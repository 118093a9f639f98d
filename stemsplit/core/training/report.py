"""The curves of a training run as a PNG: training loss, validation loss and SDR per step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stemsplit.core.models.weights_file import write_atomically


def write_curves(path: Path, history: dict, title: str) -> Path | None:
    """Draw ``history`` (``trainer.History`` as a dict) to ``path`` atomically; None
    where matplotlib is not installed (the standalone app leaves it out)."""
    try:
        from matplotlib.figure import Figure  # no pyplot: no global backend, no window
    except ImportError:
        return None

    fig = Figure(figsize=(10, 3.6), dpi=100)
    ax_loss, ax_sdr = fig.subplots(1, 2)
    steps, loss = np.asarray(history["steps"]), np.asarray(history["loss"])
    if loss.size:
        ax_loss.plot(steps, loss, color="#9aa5b1", lw=0.8, label="training (per step)")
        k = max(1, loss.size // 20)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax_loss.plot(steps[k - 1:], smooth, color="#1f77b4", lw=1.6,
                     label=f"training (mean of {k})")
    if history["eval_steps"]:
        ax_loss.plot(history["eval_steps"], history["valid_loss"], "o-", color="#d62728",
                     label="validation")
        for stem in history["valid_sdr"][0]:
            ax_sdr.plot(history["eval_steps"], [s[stem] for s in history["valid_sdr"]], "o-",
                        label=stem)
        ax_sdr.legend()
    else:
        ax_sdr.text(0.5, 0.5, "no validation tracks", ha="center", va="center",
                    transform=ax_sdr.transAxes)
    ax_loss.set(xlabel="step", ylabel="L1 loss", title="loss")
    ax_sdr.set(xlabel="step", ylabel="SDR (dB)", title="validation SDR (MDX global)")
    ax_loss.legend()
    fig.suptitle(title)
    fig.tight_layout()
    write_atomically(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path
