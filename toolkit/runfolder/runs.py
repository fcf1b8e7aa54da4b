"""Finding run folders under an output root and summarising each: recipe, status, date, headline metric."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toolkit.runfolder import rundir

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _json(path: Path) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def headline(evaluation: dict[str, Any]) -> tuple[str | None, float | None]:
    flat = {f"{e}.{k}": v for e, values in evaluation.items() if isinstance(values, dict) for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for name in HEADLINE_METRICS:
        if name in flat:
            return name, float(flat[name])
    first = next(iter(flat.items()), None)
    return (first[0], float(first[1])) if first else (None, None)


def summarise(run_dir: Path) -> RunSummary:
    status = _json(run_dir / rundir.STATUS_FILE)
    metrics = _json(run_dir / rundir.METRICS_FILE)
    metric, value = headline(metrics.get("evaluation") or {})
    state = str(status.get("status") or ("finished" if metrics else "unknown"))
    if state == "running" and _process_is_gone(status):
        state = "killed"  # the process that wrote "running" no longer exists: it was killed without a chance to say so
    when = str(status.get("time") or "")
    if not when:
        from datetime import datetime

        when = datetime.fromtimestamp((run_dir / rundir.RECIPE_FILE).stat().st_mtime).strftime("%Y-%m-%dT%H:%M:%S")
    epochs = len(metrics["epochs"]) if isinstance(metrics.get("epochs"), list) else None
    return RunSummary(str(run_dir), str(metrics.get("recipe") or status.get("recipe") or "?"), state, when, metric, value, epochs)


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


def find_runs(root: Path) -> list[RunSummary]:
    """Every folder under ``root`` (``root`` included, at most a few levels down) that holds a ``recipe.toml``,
    newest first."""
    found = []
    root_depth = len(root.parts)
    for folder, subfolders, files in os.walk(root, followlinks=True):  # depth-bounded, so link loops end
        here = Path(folder)
        if rundir.RECIPE_FILE in files and ({rundir.STATUS_FILE, rundir.CHECKPOINT_FILE, rundir.METRICS_FILE} & set(files)):
            found.append(summarise(here))
            subfolders.clear()  # a run folder holds no other runs
        elif len(here.parts) - root_depth >= MAX_DEPTH:
            subfolders.clear()
        subfolders[:] = [s for s in subfolders if not s.startswith(".") and s != "tensorboard"]
    return sorted(found, key=lambda r: r.date, reverse=True)
