"""The run folder: atomic writes, and refusing to mix two runs in one folder."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import tomli_w


RECIPE_FILE = "recipe.toml"
METRICS_FILE = "metrics.json"
STATUS_FILE = "status.json"
CHECKPOINT_FILE = "checkpoint.pt"
BEST_FILE = "best.pt"
VALIDATION_SPLIT_FILE = "validation_split.json"
ENCODER_FILE = "encoder.pt"
LOG_FILE = "log.txt"
TRANSFORM_FILE = "transform.json"
THRESHOLD_FILE = "threshold.json"
PAIR_DISTANCES_PLOT = "pair_distances.png"
RETRIEVAL_PLOT = "retrieval_grid.png"
LOSS_PLOT = "loss_curve.png"
REPORT_FILE = "report.html"
GALLERY_INDEX = "gallery.faiss"
GALLERY_META = "gallery.json"
TEMP_SUFFIX = ".tmp"


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: readers see old or new, never half.

    The temporary file is flushed to disk before the rename, so even a crash of the machine leaves the old
    file or the complete new one. A process killed mid-write leaves a stale ``.NAME.*.tmp`` beside the
    target, which :func:`remove_stale_temporaries` clears when the folder is used again.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; run folders are meant to be read by others too
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or unreadable (a run folder may be half-written or old)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files that a killed process left behind in ``folder``."""
    for stale in folder.glob(f".*{TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n"))


def write_recipe(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(tomli_w.dumps(data)))


def default_run_dir(recipe_stem: str) -> Path:
    return Path("runs") / f"{recipe_stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` looks like a folder a run wrote: its recipe plus a status or a checkpoint."""
    return (path / RECIPE_FILE).is_file() and ((path / STATUS_FILE).is_file() or (path / CHECKPOINT_FILE).is_file())


def is_finished_run(path: Path) -> bool:
    """Whether ``path`` holds the results of a run that completed: its ``metrics.json``."""
    return (path / METRICS_FILE).is_file()


def first_missing_ancestor(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (``path`` itself when only it is missing)."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def discard_run_dir(path: Path, created: Path | None) -> None:
    """Undo a run folder that never got a checkpoint.

    ``created`` is the outermost folder this run created (see :func:`first_missing_ancestor`): the run folder is
    removed, and so are the folders above it up to ``created`` while they are empty (another run may have
    started in one meanwhile). Without ``created`` the folder existed before, and is emptied again.
    """
    if created is None:
        for child in path.iterdir() if path.is_dir() else ():
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        return
    shutil.rmtree(path, ignore_errors=True)
    for parent in path.parents:
        if created not in (parent, *parent.parents):
            break
        try:
            parent.rmdir()
        except OSError:
            break
