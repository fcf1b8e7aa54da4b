"""Optional TensorBoard logging (``[run] tensorboard = true``): losses per epoch and the final metrics."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from toolkit.errors import ToolkitError

LOG_FOLDER = "tensorboard"


def require(where: str) -> None:
    """Raise a :class:`ToolkitError` when the ``tensorboard`` package is missing."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        raise ToolkitError(
            f"{where}: run.tensorboard = true needs the tensorboard package, which is not installed. Install it "
            "(`pip install tensorboard`, or `pip install 'metric-toolkit[tensorboard]'`), or set run.tensorboard = false."
        ) from None


class TensorBoardLog:
    """Writes event files into ``<run folder>/tensorboard``; view them with ``tensorboard --logdir RUN_DIR``."""

    def __init__(self, run_dir: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / LOG_FOLDER))

    def on_epoch_end(self, record: Any) -> None:
        """An epoch callback: the epoch's loss, learning rate, speed, skipped steps and validation metrics."""
        self.writer.add_scalar("train/loss", record.loss, record.epoch)
        self.writer.add_scalar("train/lr", record.lr, record.epoch)
        self.writer.add_scalar("train/images_per_second", record.images_per_second, record.epoch)
        self.writer.add_scalar("train/non_finite_steps", record.bad_steps, record.epoch)
        for name, value in (getattr(record, "validation", None) or {}).items():
            self.writer.add_scalar(f"validation/{name}", value, record.epoch)
        self.writer.flush()

    def metrics(self, metrics: dict[str, float], epoch: int) -> None:
        """``metrics`` as ``evaluator.metric`` -> value, each logged as ``evaluator/metric``."""
        for name, value in metrics.items():
            self.writer.add_scalar(name.replace(".", "/", 1), value, epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


@contextmanager
def tensorboard_log(run_dir: Path, enabled: bool) -> Iterator[TensorBoardLog | None]:
    """A :class:`TensorBoardLog` when ``enabled`` (else None), closed however the run ends."""
    board = TensorBoardLog(run_dir) if enabled else None
    try:
        yield board
    finally:
        if board is not None:
            board.close()
