"""The training loop: one epoch of batches at a time, with progress, rollback and checkpoints."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import torch
from torch import nn

from toolkit.training import rng
from toolkit.training.allocator import keep_freed_memory
from toolkit.training.compiling import CompileTiming
from toolkit.components.contracts import Batch, EmbeddedBatch, Encoder, Loss, Sampler
from toolkit.imagedata.datasets import ImageSet
from toolkit.training.distributed import World, all_finite, global_mean
from toolkit.errors import ToolkitError
from toolkit.recipes.recipe import RunSettings
from toolkit.progress import progress as progress_display
from toolkit.training.members import joint_members


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    seconds: float
    images_per_second: float
    bad_steps: int
    lr: float
    validation: dict[str, float] | None = None
    """The monitored evaluator's metrics on the validation split (``knn.precision_at_1``), after validated epochs."""

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class EpochProgress:
    """How far an epoch got, in complete steps: saved when a run is stopped mid-epoch, to continue it exactly."""

    epoch: int
    step: int = 0
    total: float = 0.0
    count: int = 0
    bad: int = 0
    seen: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class StopRequested(Exception):
    """Raised between two steps when the run was asked to stop (Ctrl-C); carries the epoch's progress."""

    def __init__(self, progress: EpochProgress):
        super().__init__(f"stopped in epoch {progress.epoch} after {progress.step} steps")
        self.progress = progress


@dataclass
class TrainState:
    """What a checkpoint restores: weights, optimizer and scheduler states, history, RNG."""

    encoder: nn.Module
    loss: Loss
    optimizers: list[torch.optim.Optimizer]
    schedulers: list[Any]
    history: list[EpochRecord] = field(default_factory=list)
    bad_steps: int = 0
    scaler: torch.amp.GradScaler | None = None  # float16 training only

    def state_dict(self) -> dict[str, Any]:
        return {
            **({"scaler": self.scaler.state_dict()} if self.scaler is not None else {}),
            "encoder": self.encoder.state_dict(),
            "loss": self.loss.state_dict(),
            "optimizers": [o.state_dict() for o in self.optimizers],
            "schedulers": [s.state_dict() for s in self.schedulers],
            "history": [r.as_dict() for r in self.history],
            "bad_steps": self.bad_steps,
            "rng": rng.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.loss.load_state_dict(state["loss"])
        for o, s in zip(self.optimizers, state["optimizers"]):
            o.load_state_dict(s)
        for sch, s in zip(self.schedulers, state["schedulers"]):
            sch.load_state_dict(s)
        self.history = [EpochRecord(**r) for r in state["history"]]
        self.bad_steps = int(state.get("bad_steps", 0))
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        rng.set_state(state["rng"])


def embed_batch(encoder: nn.Module, images: ImageSet, batch: Batch, device: torch.device, joint: bool) -> EmbeddedBatch:
    """Run the encoder over every member of a batch; members go through separately unless ``joint``."""
    size, members = batch.indices.shape
    indices = batch.indices.to(images.images.device)
    if members == 1:
        embeddings = encoder(images.batch(indices).to(device, non_blocking=True)).view(size, 1, -1)
    elif joint:
        with joint_members(members):  # member-major: all first members, then all second members, ...
            embeddings = encoder(images.batch(indices.T.reshape(-1)).to(device)).view(members, size, -1).transpose(0, 1)
    else:
        embeddings = torch.stack([encoder(images.batch(indices[:, j]).to(device)) for j in range(members)], dim=1)
    same = batch.same.to(device, non_blocking=True) if batch.same is not None else None
    return EmbeddedBatch(batch.kind, embeddings, batch.labels.to(device, non_blocking=True), same)


AUTOCAST_TYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


class BatchLoss(nn.Module):
    """A step's forward pass as one module: embed every member of a batch, then the loss of the embedded batch.

    One call per step, however many encoder passes a batch needs, so that a distributed run can wrap the whole
    step in DistributedDataParallel, which then keeps the encoder's and the loss's own parameters in step.
    With ``precision = "bfloat16"`` or ``"float16"`` the encoder runs under autocast (its weights stay float32);
    the loss always gets float32 embeddings.
    """

    def __init__(self, encoder: nn.Module, loss: Loss, joint: bool, precision: str = "float32"):
        super().__init__()
        self.encoder, self.loss, self.joint, self.precision = encoder, loss, joint, precision

    def forward(self, images: ImageSet, batch: Batch, device: torch.device) -> torch.Tensor:
        dtype = AUTOCAST_TYPES.get(self.precision)
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            embedded = embed_batch(self.encoder, images, batch, device, self.joint)
        embedded.embeddings = embedded.embeddings.float()  # the loss and its own weights stay in float32
        return self.loss(embedded)


def _all_finite(modules: list[nn.Module]) -> bool:
    return all(torch.isfinite(p).all() for m in modules for p in m.parameters())


@dataclass
class Training:
    """What an epoch trains with and where training starts: the state (restored from a checkpoint when resuming),
    the sampler, the training images on the device, the step's forward pass, and the run's settings."""

    state: TrainState
    sampler: Sampler
    images: ImageSet
    forward: nn.Module
    settings: RunSettings
    device: torch.device
    world: World = field(default_factory=World)
    start_epoch: int = 1
    partial: EpochProgress | None = None
    compile_timing: CompileTiming | None = None
    """Set with ``run.compile``: the first steps are timed to tell compiling from training."""


class EpochCallback(Protocol):
    """Called after every complete epoch, in list order (logging, checkpoints, TensorBoard, watchers, ...).

    A callback with a true ``stop_training`` attribute ends training before the next epoch (early stopping)."""

    def on_epoch_end(self, record: EpochRecord) -> None: ...


def run_training(training: Training, callbacks: Sequence[EpochCallback], *, progress: bool = True,
                 stop_requested: Callable[[], bool] | None = None) -> None:
    """Epochs ``start_epoch..epochs``; each epoch's sampling depends only on the seed and the epoch number."""
    keep_freed_memory()
    settings = training.settings
    for epoch in range(training.start_epoch, settings.epochs + 1):
        if any(getattr(callback, "stop_training", False) for callback in callbacks):
            break
        generator = torch.Generator().manual_seed(settings.seed * 1_000_003 + epoch)
        partial = training.partial if training.partial is not None and training.partial.epoch == epoch else None
        record = train_epoch(training, epoch, generator, progress=progress, resume_from=partial,
                             stop_requested=stop_requested)
        for callback in callbacks:
            callback.on_epoch_end(record)


def train_epoch(training: Training, epoch: int, generator: torch.Generator, *, progress: bool = True,
                resume_from: EpochProgress | None = None,
                stop_requested: Callable[[], bool] | None = None) -> EpochRecord:
    """Train one epoch. A step with a non-finite loss is skipped; if the weights themselves went bad
    they are restored from the start of the epoch. Too many such steps stop the run.

    ``resume_from`` continues an epoch that was stopped after some steps (its batches are drawn again from
    the same generator, and the steps already done are skipped). ``stop_requested`` is asked before each
    step; when it answers True, :class:`StopRequested` is raised with the epoch's progress so far.

    In a world of several processes the sampler gives this rank's slices, every rank takes or skips each step
    together, and the loss recorded is the global batch's."""
    state, world = training.state, training.world
    if isinstance(state.encoder, Encoder):
        state.encoder.set_epoch(epoch)
    state.encoder.train()
    state.loss.train()
    batches = training.sampler.epoch(training.images.labels.cpu(), generator)
    done = resume_from or EpochProgress(epoch)
    batches = list(batches)[done.step:] if done.step else batches
    snapshot = _snapshot(state)
    start = time.perf_counter() - done.seconds
    bar = progress_display(batches, desc=f"epoch {epoch}/{training.settings.epochs}", unit="batch", enabled=progress,
                           initial=done.step, total=done.step + len(batches))
    for batch in bar:
        if stop_requested is not None and stop_requested():
            bar.close()
            done.seconds = time.perf_counter() - start
            raise StopRequested(done)
        done.step += 1
        step_started = time.perf_counter()
        value = training.forward(training.images, batch, training.device)
        if not all_finite(value, world):
            _skip_step(state, value, snapshot, world, training.settings.max_bad_steps)
            done.bad += 1
            continue
        _take_step(state, value)
        done.total += global_mean(value, world)  # reading the loss back waits for the step's GPU work
        if training.compile_timing is not None:
            training.compile_timing.add(time.perf_counter() - step_started)
        done.count += 1
        done.seen += batch.indices.numel() * world.size
        if done.count % 10 == 0:
            bar.set_postfix(loss=f"{done.total / done.count:.4f}", refresh=False)
    bar.close()
    return _finish_epoch(state, done, time.perf_counter() - start)


def _snapshot(state: TrainState) -> dict[str, Any]:
    """The weights and optimizer states at the start of an epoch, to return to if they go bad."""
    return copy.deepcopy({"encoder": state.encoder.state_dict(), "loss": state.loss.state_dict(),
                          "optimizers": [o.state_dict() for o in state.optimizers]})


def _take_step(state: TrainState, value: torch.Tensor) -> None:
    for o in state.optimizers:
        o.zero_grad(set_to_none=True)
    if state.scaler is None:
        value.backward()
        for o in state.optimizers:
            o.step()
        return
    state.scaler.scale(value).backward()  # float16 gradients would underflow unscaled
    for o in state.optimizers:
        state.scaler.step(o)
    state.scaler.update()


def _skip_step(state: TrainState, value: torch.Tensor, snapshot: dict[str, Any], world: World,
               max_bad_steps: int) -> None:
    """Drop a step with a non-finite loss; restore the snapshot if the weights went bad; stop after too many."""
    if world.is_distributed:
        value.backward()  # every forward of DistributedDataParallel needs its backward; the gradients are dropped
    state.bad_steps += 1
    for o in state.optimizers:
        o.zero_grad(set_to_none=True)
    if not _all_finite([state.encoder, state.loss]):
        state.encoder.load_state_dict(snapshot["encoder"])
        state.loss.load_state_dict(snapshot["loss"])
        for o, s in zip(state.optimizers, snapshot["optimizers"]):
            o.load_state_dict(s)
    if state.bad_steps > max_bad_steps:
        raise ToolkitError(
            f"The loss was not a finite number on {state.bad_steps} steps (more than run.max_bad_steps = {max_bad_steps}); "
            "training stopped. Lower the learning rate, check the data normalisation, or raise run.max_bad_steps."
        )


def _finish_epoch(state: TrainState, done: EpochProgress, seconds: float) -> EpochRecord:
    """Step the schedulers and record the epoch in the state's history."""
    mean = done.total / done.count if done.count else math.nan
    lr = float(state.optimizers[0].param_groups[0]["lr"])  # the rate this epoch trained with, before the schedulers step
    for scheduler in state.schedulers:
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(mean)
        else:
            scheduler.step()
    record = EpochRecord(done.epoch, mean, round(seconds, 3), round(done.seen / seconds, 1) if seconds else 0.0,
                         done.bad, lr)
    state.history.append(record)
    return record
