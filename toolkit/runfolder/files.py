"""Reading the files of a run folder, each through its schema (:mod:`toolkit.runfolder.schemas`).

Each reader returns ``None`` for a file the folder does not have and raises a :class:`ToolkitError` naming a file
that is there but damaged, so a command never works on half-valid values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit.errors import ToolkitError
from toolkit.recipes.recipe import MAX_RECIPE_BYTES
from toolkit.runfolder import rundir, schemas

def _optional(path: Path, model: type[schemas.Model], what: str) -> schemas.Model | None:
    return schemas.read_json(path, model, what) if path.is_file() else None


def read_status(run_dir: Path) -> schemas.Status | None:
    return _optional(run_dir / rundir.STATUS_FILE, schemas.Status, "run status file")


def read_metrics(run_dir: Path) -> schemas.Metrics | None:
    return _optional(run_dir / rundir.METRICS_FILE, schemas.Metrics, "metrics file")


def read_threshold(run_dir: Path) -> schemas.Threshold | None:
    return _optional(run_dir / rundir.THRESHOLD_FILE, schemas.Threshold, "same/different threshold file")


def read_transform(run_dir: Path) -> schemas.Transform | None:
    return _optional(run_dir / rundir.TRANSFORM_FILE, schemas.Transform, "image transform file")


def read_gallery_meta(run_dir: Path) -> schemas.GalleryMeta | None:
    return _optional(run_dir / rundir.GALLERY_META, schemas.GalleryMeta, "gallery description")


def as_dict(model: schemas.BaseModel | None) -> dict[str, Any]:
    """A file's values as a plain dict; an absent file as an empty one."""
    return model.model_dump() if model is not None else {}


def read_text(path: Path, what: str = "recipe", limit: int = MAX_RECIPE_BYTES) -> str:
    """The UTF-8 text of ``path``, refused above ``limit`` bytes before it is read."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise ToolkitError(f"{path} is {size:,} bytes, more than the {limit:,} bytes any {what} needs; it was not "
                               f"read. Check that it is the right file.")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ToolkitError(f"{path} is not UTF-8 text (byte {exc.start} cannot be decoded). Save the {what} as UTF-8.") from None
    except OSError as exc:
        raise ToolkitError(f"Cannot read the {what} {path}: {exc.strerror or exc}.") from None
