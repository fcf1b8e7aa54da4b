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

from toolkit.errors import ToolkitError

RECIPE_FILE = "recipe.toml"
METRICS_FILE = "metrics.json"
STATUS_FILE = "status.json"
CHECKPOINT_FILE = "checkpoint.pt"
ENCODER_FILE = "encoder.pt"
LOG_FILE = "log.txt"


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n"))


def write_recipe(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(tomli_w.dumps(data)))


def default_run_dir(recipe_stem: str) -> Path:
    return Path("runs") / f"{recipe_stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def prepare_run_dir(path: Path, *, overwrite: bool, resume: bool) -> Path:
    """Create the run folder, refusing one that already holds something unless told otherwise."""
    if path.exists() and not path.is_dir():
        raise ToolkitError(f"The output path {str(path)!r} exists and is not a folder; choose another with run.output or --output.")
    if resume:
        if not (path / CHECKPOINT_FILE).is_file():
            raise ToolkitError(f"Cannot resume from {str(path)!r}: it holds no {CHECKPOINT_FILE}. Give the folder of a run that finished at least one epoch.")
        return path
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise ToolkitError(
                f"The output folder {str(path)!r} already holds files (another run?). "
                "Pass --overwrite to replace it, --resume to continue the run in it, or choose another folder with --output."
            )
        shutil.rmtree(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ToolkitError(f"Cannot write into the output folder {str(path)!r}: {exc.strerror or exc}. Choose another with --output.") from None
    return path
