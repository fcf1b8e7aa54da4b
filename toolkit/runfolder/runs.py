"""Finding run folders under an output root and summarising each: recipe, status, date, headline metric."""

from __future__ import annotations

import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from toolkit.errors import ToolkitError
from toolkit.evaluation.results import Evaluation
from toolkit.runfolder import files, rundir

HEADLINE_METRICS = ("knn.precision_at_1", "knn.map_at_r", "kmeans.accuracy_hungarian")
"""The metric shown for a run: the first of these it has, else its first numeric metric."""
MAX_DEPTH = 4


@dataclass
class RunSummary:
    path: str
    recipe: str
    status: str
    date: str
    metric: str | None
    value: float | None
    epochs: int | None
    artifacts: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def headline(metrics: dict[str, float]) -> tuple[str | None, float | None]:
    """The run's headline metric among its flat ``evaluator.metric`` values: the first of
    :data:`HEADLINE_METRICS` it has, else its first metric."""
    for name in HEADLINE_METRICS:
        if name in metrics:
            return name, metrics[name]
    first = next(iter(metrics.items()), None)
    return first if first else (None, None)


def summarise(run_dir: Path) -> RunSummary:
    status_file, metrics_file = files.read_status(run_dir), files.read_metrics(run_dir)
    status = status_file.model_dump() if status_file else {}
    metrics = metrics_file.model_dump() if metrics_file else {}
    evaluation = Evaluation.from_metrics(metrics)
    metric, value = headline(evaluation.flat())
    state = str(status.get("status") or ("finished" if metrics else "unknown"))
    if state == "running" and _process_is_gone(status):
        state = "killed"  # the process that wrote "running" no longer exists: it was killed without a chance to say so
    when = str(status.get("time") or "")
    if not when:
        from datetime import datetime

        when = datetime.fromtimestamp((run_dir / rundir.RECIPE_FILE).stat().st_mtime).strftime("%Y-%m-%dT%H:%M:%S")
    epochs = len(metrics["epochs"]) if isinstance(metrics.get("epochs"), list) else None
    return RunSummary(str(run_dir), str(metrics.get("recipe") or status.get("recipe") or "?"), state, when, metric, value,
                      epochs, evaluation.flat_artifacts())


def _process_is_gone(status: dict[str, Any]) -> bool:
    pid = status.get("pid")
    if not isinstance(pid, int) or status.get("host") != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def summarise_runs_under(root: Path, skipped: list[str] | None = None) -> list[RunSummary]:
    """Every folder under ``root`` (``root`` included, at most a few levels down) that holds a ``recipe.toml``,
    newest first. A run folder with a damaged file is left out, and why is added to ``skipped``."""
    found = []
    root_depth = len(root.parts)
    for folder, subfolders, files in os.walk(root, followlinks=True):  # depth-bounded, so link loops end
        here = Path(folder)
        if rundir.is_run_dir(here) or (rundir.RECIPE_FILE in files and rundir.is_finished_run(here)):
            try:
                found.append(summarise(here))
            except ToolkitError as exc:  # one damaged folder must not hide every other run
                (skipped if skipped is not None else []).append(str(exc))
            subfolders.clear()  # a run folder holds no other runs
        elif len(here.parts) - root_depth >= MAX_DEPTH:
            subfolders.clear()
        subfolders[:] = [s for s in subfolders if not s.startswith(".") and s != "tensorboard"]
    return sorted(found, key=lambda r: r.date, reverse=True)
