"""Fine-tuning (or training from scratch) Spleeter's U-Nets on a user's own stems.

The textbook method (Jansson et al. 2017, Spleeter): each stem's U-Net maps the
mixture's magnitude spectrogram to a soft mask; the loss is the L1 distance
between the masked mixture magnitude and the true stem's magnitude, summed
over stems; Adam at 1e-4. Batch-norm statistics stay as the base model learnt
them (a few small batches would only make them noisier); with
``freeze_encoder`` the encoder's weights stay too, for very small data sets.

Every ``eval_every`` steps: the validation loss on fixed windows and the MDX
global SDR of full separations of the validation tracks (the same engine the
model will run in), the best model written to the model store, the training
state checkpointed for ``--resume``; training stops early after ``patience``
evaluations without a better SDR.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from stemsplit.core.engine import dsp
from stemsplit.core.engine.device import resolve_device
from stemsplit.core.errors import Cancelled, StemsplitError
from stemsplit.core.evaluation.metrics import global_sdr
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.models.spleeter import trained
from stemsplit.core.models.spleeter.engine import SpleeterSeparator
from stemsplit.core.models.spleeter.unet import StemUNets, UNetConfig
from stemsplit.core.models.spleeter.weights import load_into
from stemsplit.core.training import data as train_data
from stemsplit.core.training import state as checkpoint

N_FFT, HOP, BINS = 4096, 1024, 1024


@dataclass(frozen=True)
class TrainConfig:
    """What a run is asked to do (saved in the checkpoint; ``--resume`` must match)."""

    name: str
    stems: tuple[str, ...]
    base: str | None = "2stems"       # a Spleeter-family model name, or None: from scratch
    steps: int = 2000
    batch_size: int = 4
    frames: int = 512                 # a multiple of 64 (six stride-2 layers)
    learning_rate: float = 1e-4
    eval_every: int = 100
    patience: int = 5
    freeze_encoder: bool = False
    augment: bool = True
    seed: int = 0
    precision: str = "fp32"           # "fp32" or "bf16" (autocast for the network only)
    device: str = "cpu"               # "cpu", "cuda" or "mps"


@dataclass(frozen=True)
class TrainProgress:
    """One step (or one evaluation) of a run."""

    step: int
    steps: int
    loss: float
    elapsed_s: float
    eta_s: float | None
    valid_loss: float | None = None
    valid_sdr: dict[str, float] | None = None
    best: bool = False
    stopped_early: bool = False


@dataclass
class History:
    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_sdr: list[dict[str, float]] = field(default_factory=list)


class Trainer:
    """Holds the networks, the optimiser and the data of one training run."""

    def __init__(self, config: TrainConfig, train: list[train_data.TrainingTrack],
                 valid: list[train_data.TrainingTrack], base: ModelInfo | None,
                 data_summary: dict) -> None:
        if config.frames % 64 or config.frames < 64:
            raise StemsplitError("frames must be a positive multiple of 64")
        if config.steps < 0 or config.batch_size < 1 or config.eval_every < 1:
            raise StemsplitError("steps must be >= 0, batch size and eval_every >= 1")
        self.config, self.train_tracks, self.valid_tracks = config, train, valid
        self.base, self.data_summary = base, data_summary
        self.unet_config = base.unet if base is not None else UNetConfig()
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.device = resolve_device(config.device)
        self.net = StemUNets(len(config.stems), self.unet_config)
        self.started_from: dict[str, str] = {}
        self._init_weights()
        self.net.to(self.device)
        params = self._trainable()
        self.optimizer = torch.optim.Adam(params, lr=config.learning_rate)
        self.sampler = train_data.WindowSampler(train, config.stems, config.frames,
                                                config.augment, self.rng)
        self.window = dsp.hann(N_FFT, self.device)
        self.fixed = (train_data.fixed_windows(valid, config.stems, config.frames)
                      if valid else None)
        self.step = 0
        self.history = History()
        self.best_sdr: dict[str, float] | None = None
        self.best_step: int | None = None
        self.bad_evals = 0

    # -- set-up ---------------------------------------------------------------------------

    def _init_weights(self) -> None:
        """Each stem's U-Net from the base's U-Net of the same stem, else from scratch."""
        base = self.base
        states = dict(zip(base.stems, base.load_weights(), strict=True)) if base else {}
        for stem, net in zip(self.config.stems, self.net.nets, strict=True):
            if stem in states:
                load_into(net, states[stem], f"{base.name} weights for {stem}")
                self.started_from[stem] = base.name
            else:
                self.started_from[stem] = "scratch"

    def _trainable(self) -> list[torch.nn.Parameter]:
        params = []
        for net in self.net.nets:
            for name, p in net.named_parameters():
                frozen = self.config.freeze_encoder and name.startswith("down")
                p.requires_grad_(not frozen)
                if not frozen:
                    params.append(p)
        return params

    def _train_mode(self) -> None:
        self.net.train()
        for m in self.net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()  # keep the base's statistics (see the module docstring)

    # -- one step ---------------------------------------------------------------------------

    def _magnitudes(self, audio: np.ndarray) -> torch.Tensor:
        """``(..., 2, L)`` audio -> ``(..., 2, T, F)`` magnitudes of the modelled band."""
        x = torch.from_numpy(np.ascontiguousarray(audio)).to(self.device)
        lead = x.shape[:-1]
        spec = dsp.stft(x.reshape(-1, x.shape[-1]), N_FFT, HOP, self.window)
        mag = spec[:, :BINS].abs().transpose(1, 2)
        return mag.reshape(*lead, *mag.shape[-2:])

    def _loss(self, mix: np.ndarray, targets: np.ndarray) -> torch.Tensor:
        """Sum over stems of mean |mask * |X| - |S||."""
        mix_mag = self._magnitudes(mix)                     # (B, 2, T, F)
        target_mag = self._magnitudes(targets)              # (S, B, 2, T, F)
        if self.config.precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if self.config.precision == "bf16" else torch.float16
            with torch.autocast(self.device.type, dtype=dtype):
                masks = self.net(mix_mag)
            masks = masks.float()
        else:
            masks = self.net(mix_mag)
        return (masks * mix_mag - target_mag).abs().mean(dim=(1, 2, 3, 4)).sum()

    def train_step(self) -> float:
        self._train_mode()
        mix, targets = self.sampler.batch(self.config.batch_size)
        loss = self._loss(mix, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return float(loss.detach())

    # -- evaluation -----------------------------------------------------------------------

    def states(self) -> list[dict[str, np.ndarray]]:
        # num_batches_tracked is a counter, not a weight (the checkpoints carry none)
        return [{k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()
                 if not k.endswith("num_batches_tracked")} for net in self.net.nets]

    def evaluate(self, cancel: threading.Event | None = None) -> tuple[float, dict[str, float]]:
        """Validation loss on fixed windows and mean global SDR per stem over tracks."""
        self.net.eval()
        with torch.inference_mode():
            loss = float(self._loss(*self.fixed))
        info = ModelInfo(name=self.config.name, title=self.config.name, stems=self.config.stems,
                         load_weights=self.states, is_installed=lambda: True,
                         unet=self.unet_config)
        separator = SpleeterSeparator(info, device=self.device.type)
        scores: dict[str, list[float]] = {s: [] for s in self.config.stems}
        for track in self.valid_tracks:
            mixture = track.mixture()
            est = separator.separate(mixture, train_data.RATE, cancel=cancel)
            for s in self.config.stems:
                scores[s].append(global_sdr(track.sources[s], est.stems[s]))
        return loss, {s: float(np.mean(v)) for s, v in scores.items()}

    # -- the run --------------------------------------------------------------------------

    def folder(self) -> Path:
        return trained.model_folder(self.config.name)

    def card(self) -> dict:
        return {"name": self.config.name, "base": self.base.name if self.base else None,
                "stems": list(self.config.stems),
                "unet": {"encoder_activation": self.unet_config.encoder_activation,
                         "decoder_activation": self.unet_config.decoder_activation,
                         "sigmoid_head": self.unet_config.sigmoid_head},
                "started_from": self.started_from, "step": self.best_step or self.step,
                "data": self.data_summary, "best_valid_sdr": self.best_sdr,
                "history": asdict(self.history), "config": _config_json(self.config)}

    def save_checkpoint(self) -> None:
        checkpoint.save(self.folder() / checkpoint.CHECKPOINT, self.net, self.optimizer,
                        self.rng, {"config": _config_json(self.config), "step": self.step,
                                   "history": asdict(self.history), "best_sdr": self.best_sdr,
                                   "best_step": self.best_step, "bad_evals": self.bad_evals,
                                   "started_from": self.started_from,
                                   "data": self.data_summary})

    def resume(self) -> None:
        """Continue a checkpointed run exactly where it stopped."""
        saved = checkpoint.load(self.folder() / checkpoint.CHECKPOINT, self.net,
                                self.optimizer, self.rng)
        if _config_json(self.config, ignore_steps=True) != \
                {k: v for k, v in saved.get("config", {}).items() if k != "steps"}:
            raise checkpoint.CheckpointError(
                f"the checkpoint of {self.config.name} was made with other settings; "
                "resume with the same options (only --steps may change)")
        self.step = int(saved["step"])
        self.history = History(**saved["history"])
        self.best_sdr, self.best_step = saved["best_sdr"], saved["best_step"]
        self.bad_evals = int(saved["bad_evals"])
        self.started_from = saved["started_from"]

    def save_model(self) -> None:
        trained.save_model(self.config.name, self.states(), self.card())

    def iter_train(self, cancel: threading.Event | None = None) -> Iterator[TrainProgress]:
        """Train until ``steps`` (or early stopping), yielding progress after every step.

        A set ``cancel`` is honoured between steps, after the state is checkpointed,
        so ``--resume`` continues exactly.

        Raises:
            Cancelled, CheckpointError (disk full: the previous checkpoint stays).
        """
        cfg = self.config
        started = time.perf_counter()
        first = self.step
        if self.step == 0 and self.best_step is None:
            # Step 0 is the base itself: scored first, so fine-tuning must beat it, and
            # usable at once (it separates exactly like its base).
            start = TrainProgress(0, cfg.steps, float("nan"), 0.0, None)
            yield self._evaluate_and_keep(start, cancel)
        while self.step < cfg.steps:
            if cancel is not None and cancel.is_set():
                self.save_checkpoint()
                raise Cancelled()
            loss = self.train_step()
            self.history.steps.append(self.step)
            self.history.loss.append(loss)
            elapsed = time.perf_counter() - started
            rate = elapsed / max(1, self.step - first)
            progress = TrainProgress(self.step, cfg.steps, loss, elapsed,
                                     rate * (cfg.steps - self.step))
            if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                progress = self._evaluate_and_keep(progress, cancel)
                if progress.stopped_early:
                    yield progress
                    return
            yield progress
        self.save_checkpoint()

    def _evaluate_and_keep(self, progress: TrainProgress, cancel) -> TrainProgress:
        best = False
        valid_loss = sdr = None
        if self.valid_tracks:
            # run to its end even when asked to stop: the checkpoint after it stays exact
            valid_loss, sdr = self.evaluate()
            self.history.eval_steps.append(self.step)
            self.history.valid_loss.append(valid_loss)
            self.history.valid_sdr.append(sdr)
            score = float(np.mean(list(sdr.values())))
            if self.best_sdr is None or score > float(np.mean(list(self.best_sdr.values()))):
                self.best_sdr, self.best_step, self.bad_evals, best = sdr, self.step, 0, True
            else:
                self.bad_evals += 1
        else:
            self.best_step, best = self.step, True  # nothing to compare with: keep the latest
        if best:
            self.save_model()
        stop = bool(self.valid_tracks) and self.bad_evals >= self.config.patience
        self.save_checkpoint()
        return TrainProgress(**{**asdict(progress), "valid_loss": valid_loss, "valid_sdr": sdr,
                                "best": best, "stopped_early": stop})


def _config_json(config: TrainConfig, ignore_steps: bool = False) -> dict:
    out = asdict(config)
    out["stems"] = list(config.stems)
    if ignore_steps:
        out.pop("steps")
    return out
