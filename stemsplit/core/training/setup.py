"""From what a user asks (folders, a name, a base model) to a ready ``Trainer``.

The command line and the window's training dialog both come through here, so
the checks and their sentences are the same in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stemsplit.core.engine.device import resolve_device
from stemsplit.core.engine.precision import resolve_precision
from stemsplit.core.errors import DatasetError, ModelError
from stemsplit.core.models.install import taken_names
from stemsplit.core.models.registry import get_model
from stemsplit.core.models.spleeter import trained
from stemsplit.core.training import data
from stemsplit.core.training.trainer import TrainConfig, Trainer


@dataclass(frozen=True)
class TrainRequest:
    """A training run as asked for; ``valid`` is a folder or a fraction of tracks."""

    data: tuple[Path, ...]
    name: str
    base: str = "2stems"                   # a Spleeter-family model, or "scratch"
    stems: tuple[str, ...] | None = None   # None: the base's stems
    valid: Path | float = 0.2
    steps: int = 2000
    batch_size: int = 4
    frames: int = 512
    learning_rate: float = 1e-4
    eval_every: int = 100
    patience: int = 5
    freeze_encoder: bool = False
    augment: bool = True
    seed: int = 0
    precision: str = "auto"
    device: str = "auto"
    resume: bool = False
    notes: list[str] = field(default_factory=list, compare=False)


def base_model(name: str):
    """The ModelInfo to start from (None for scratch), checked to be a usable U-Net."""
    if name == "scratch":
        return None
    base = get_model(name)
    if base.family != "spleeter":
        raise ModelError(f"{name} is not a U-Net model; train from a Spleeter-family model "
                         "(2stems, 4stems, 5stems, or one you trained) or from scratch")
    if not base.is_installed():
        raise ModelError(f"{name} is not installed; install it first "
                         f"('stemsplit models install {name}')")
    return base


def prepare(request: TrainRequest) -> Trainer:
    """Check the request, read the tracks and build the trainer (resumed if asked).

    Raises:
        ModelError, DatasetError, CheckpointError: with a sentence for the user.
    """
    if not request.resume:
        # a trained model of this name is trained again (as before); any other model's
        # name, your own RoFormer's included, is refused: the new model would hide it
        mine = {m.name for m in trained.discover(skip=set())}
        trained.check_name(request.name, taken_names() - mine)
    base = base_model(request.base)
    stems = request.stems or (base.stems if base else ("vocals", "accompaniment"))
    if not all(stems) or len(set(stems)) != len(stems):
        raise DatasetError("the stems to learn must be distinct names")
    device = resolve_device(request.device)
    config = TrainConfig(name=request.name, stems=tuple(stems),
                         base=base.name if base else None, steps=request.steps,
                         batch_size=request.batch_size, frames=request.frames,
                         learning_rate=request.learning_rate, eval_every=request.eval_every,
                         patience=request.patience, freeze_encoder=request.freeze_encoder,
                         augment=request.augment, seed=request.seed,
                         precision=resolve_precision(request.precision, device).name,
                         device=device.type)
    window = data.window_samples(request.frames)
    tracks = data.load_tracks(list(request.data), config.stems, window)
    if isinstance(request.valid, Path):
        train, valid = tracks, data.load_tracks([request.valid], config.stems, window)
    elif request.valid > 0 and len(tracks) >= 2:
        train, valid = data.split_validation(tracks, request.valid, request.seed)
    else:
        train, valid = tracks, []
        request.notes.append("no validation tracks: the last step's model is kept and there "
                             "is no early stopping")
    minutes = sum(t.length for t in tracks) / data.RATE / 60
    summary = {"tracks": len(train), "valid_tracks": len(valid), "minutes": round(minutes, 2),
               "folders": [str(p) for p in request.data]}
    trainer = Trainer(config, train, valid, base, summary)
    if request.resume:
        trainer.resume()
    return trainer


def describe(trainer: Trainer) -> str:
    """One line saying what is being trained on what."""
    c, s = trainer.config, trainer.data_summary
    return (f"training {c.name}: {', '.join(c.stems)} from {c.base or 'scratch'} on "
            f"{s['tracks']} tracks ({s['minutes']:.1f} min), {s['valid_tracks']} for "
            f"validation; {c.precision} on {c.device}, batch {c.batch_size} x {c.frames} frames")
