"""What happens after each epoch, one callback per concern: the log line, the checkpoint, the evaluators' watchers.

TensorBoard's epoch scalars are the callback :class:`toolkit.training.tensorboard.TensorBoardLog` itself.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from toolkit.components.contracts import EvalContext, Evaluator
from toolkit.runfolder.claim import checkpoint_written
from toolkit.training import checkpoint, rng
from toolkit.training.epoch import EpochProgress, EpochRecord, TrainState

log = logging.getLogger("toolkit")


@dataclass
class SavePoint:
    """Where the run's checkpoint stands: after ``epoch`` complete epochs, plus ``step`` steps of the next."""

    epoch: int | None = None
    step: int = 0
    evaluating: bool = False

    @classmethod
    def of(cls, saved: dict[str, Any] | None) -> "SavePoint":
        if saved is None:
            return cls()
        return cls(int(saved["epoch"]), int((saved.get("partial") or {}).get("step", 0)))

    def describe(self, run_dir: Path) -> str:
        if self.step or self.epoch == 0:
            return f"{run_dir} holds a checkpoint after step {self.step} of epoch {self.epoch + 1}"
        return f"{run_dir} holds a checkpoint after epoch {self.epoch}"


@dataclass
class WallClock:
    """A run's wall time across its processes: a resumed run adds its own to the time its checkpoint recorded."""

    earlier: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    @classmethod
    def of(cls, saved: dict[str, Any] | None) -> "WallClock":
        return cls(float((saved or {}).get("wall_seconds", 0.0)))

    def seconds(self) -> float:
        return self.earlier + time.perf_counter() - self.started


@dataclass
class LogEpoch:
    """One log line per epoch: loss, time, speed, learning rate, skipped steps and the monitored validation metric."""

    epochs: int
    monitor: str | None = None

    def on_epoch_end(self, record: EpochRecord) -> None:
        validated = record.validation and self.monitor in record.validation
        log.info("epoch %d/%d  loss %.5f  %.1fs  %.0f images/s  lr %.3g%s%s", record.epoch, self.epochs, record.loss,
                 record.seconds, record.images_per_second, record.lr,
                 f"  skipped {record.bad_steps} non-finite steps" if record.bad_steps else "",
                 f"  validation {self.monitor} {record.validation[self.monitor]:.4f}" if validated else "")


@dataclass
class Checkpointing:
    """Saves the training state after every epoch, and mid-epoch when the run is stopped; keeps ``point`` current."""

    path: Path
    state: TrainState
    fingerprint: str
    world_size: int
    point: SavePoint
    clock: WallClock

    def on_epoch_end(self, record: EpochRecord) -> None:
        self._save(epoch=record.epoch)
        checkpoint_written(self.path.parent)  # an --overwrite's old run is no longer needed
        self.point.epoch, self.point.step = record.epoch, 0

    def on_stop(self, done: EpochProgress) -> None:
        self._save(epoch=done.epoch - 1, partial=done.as_dict())
        self.point.epoch, self.point.step = done.epoch - 1, done.step

    def _save(self, **where: Any) -> None:
        checkpoint.save(self.path, {**self.state.state_dict(), **where, "recipe_fingerprint": self.fingerprint,
                                    "world_size": self.world_size, "wall_seconds": self.clock.seconds()})


@dataclass
class EvaluatorWatchers:
    """Calls each evaluator's ``on_epoch_end(context, epoch)`` with a fresh context (embeddings change every epoch)."""

    evaluators: list[Evaluator]
    new_context: Callable[[], EvalContext]

    @classmethod
    def of(cls, evaluators: list[tuple[str, Evaluator]], new_context: Callable[[], EvalContext]) -> "EvaluatorWatchers":
        return cls([e for _, e in evaluators if callable(getattr(e, "on_epoch_end", None))], new_context)

    def on_epoch_end(self, record: EpochRecord) -> None:
        if not self.evaluators:
            return
        before = rng.get_state()  # watchers must not change what a resumed run would draw next
        context = self.new_context()
        for watcher in self.evaluators:
            watcher.on_epoch_end(context, record.epoch)
        rng.set_state(before)
