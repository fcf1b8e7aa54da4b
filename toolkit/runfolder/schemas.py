"""What every file in a run folder must hold, checked when it is read: a run folder may come from someone else.

A file that does not match raises a :class:`ToolkitError` naming the file and the first things wrong with it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from toolkit.errors import ToolkitError

MAX_JSON_BYTES = 64 * 1024 * 1024
"""No run-folder JSON file is near this size; a larger one is refused before it is read."""
MAX_IMAGE_SIDE = 16384
MAX_CHANNELS = 4

Model = TypeVar("Model", bound=BaseModel)


class _Loose(BaseModel):
    """Extra keys are allowed: newer toolkits may add some."""

    model_config = ConfigDict(extra="allow")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Status(_Loose):
    status: Literal["running", "finished", "failed", "interrupted"]
    recipe: str = "?"
    time: str = ""
    pid: int | None = None
    host: str | None = None


class Epoch(_Loose):
    epoch: int = Field(ge=1)
    loss: float
    seconds: float = Field(ge=0)
    images_per_second: float = Field(ge=0)
    lr: float
    bad_steps: int = Field(default=0, ge=0)


class Metrics(_Loose):
    recipe: str = "?"
    epochs: list[Epoch] = []
    evaluation: dict[str, dict[str, Any]] = {}
    train_seconds: float | None = Field(default=None, ge=0)
    wall_seconds: float | None = Field(default=None, ge=0)
    device: str | None = None


class Threshold(_Loose):
    threshold: float
    accuracy: float = Field(ge=0, le=1)
    held_out_accuracy: float = Field(ge=0, le=1)
    pairs: int = Field(ge=0)
    held_out_pairs: int = Field(ge=0)
    split: str

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError("must be a finite distance, 0 or more")
        return value


Mean = Annotated[float, Field(allow_inf_nan=False)]
Std = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Transform(_Loose):
    channels: int = Field(ge=1, le=MAX_CHANNELS)
    height: int = Field(ge=1, le=MAX_IMAGE_SIDE)
    width: int = Field(ge=1, le=MAX_IMAGE_SIDE)
    mean: Mean | list[Mean]
    std: Std | list[Std]

    @model_validator(mode="after")
    def _one_per_channel(self) -> "Transform":
        for key in ("mean", "std"):
            value = getattr(self, key)
            if isinstance(value, list) and len(value) != self.channels:
                raise ValueError(f"{key} has {len(value)} values for {self.channels} channel(s)")
        return self


class GalleryMeta(_Loose):
    source: str
    encoder: str
    size: int = Field(ge=0)
    index: Literal["flat", "ivf", "hnsw"] = "flat"
    class_names: list[str]
    labels: list[int]
    ids: list[str]

    @model_validator(mode="after")
    def _consistent(self) -> "GalleryMeta":
        if not len(self.labels) == len(self.ids) == self.size:
            raise ValueError(f"size {self.size}, {len(self.labels)} labels and {len(self.ids)} ids must agree")
        wrong = next((label for label in self.labels if not -1 <= label < len(self.class_names)), None)  # -1: no class
        if wrong is not None:
            raise ValueError(f"label {wrong} is out of range for {len(self.class_names)} class names")
        return self


class Progress(_Strict):
    """A checkpoint's ``partial``: how far the interrupted epoch got."""

    epoch: int = Field(ge=1)
    step: int = Field(default=0, ge=0)
    total: float = 0.0
    count: int = Field(default=0, ge=0)
    bad: int = Field(default=0, ge=0)
    seen: int = Field(default=0, ge=0)
    seconds: float = Field(default=0.0, ge=0)


class CheckpointHead(_Loose):
    """The plain values of a checkpoint that say where the run stands (its tensors are checked when loaded)."""

    epoch: int = Field(ge=0)
    partial: Progress | None = None
    recipe_fingerprint: str | None = None
    world_size: int = Field(default=1, ge=1)


def problems(error: ValidationError, limit: int = 3) -> str:
    """The first ``limit`` problems of ``error`` as ``key: what is wrong``."""
    found = []
    for item in error.errors()[:limit]:
        where = ".".join(str(p) for p in item["loc"]) or "the whole file"
        found.append(f"{where}: {item['msg'].lower()}")
    more = len(error.errors()) - limit
    return "; ".join(found) + (f" (and {more} more)" if more > 0 else "")


def check(path: Path, data: Any, model: type[Model], what: str) -> Model:
    """``data`` read from ``path``, checked against ``model``; ``what`` names the file's kind in the error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ToolkitError(
            f"{path} is not a valid {what} ({problems(exc)}). The run folder may be damaged or edited by hand; "
            "use an intact copy of it."
        ) from None


def read_json(path: Path, model: type[Model], what: str) -> Model:
    """The JSON file at ``path`` checked against ``model``, or a :class:`ToolkitError` that names it."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise ToolkitError(f"{path} is {size} bytes, far more than any {what} holds; it was not read. "
                               "Use an intact copy of the run folder.")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolkitError(f"{path} does not exist: the run folder lacks its {what}. Give a complete run folder.") from None
    except UnicodeDecodeError:
        raise ToolkitError(f"{path} is not UTF-8 text, so it is not a valid {what}. Use an intact copy of the run "
                           "folder.") from None
    except ValueError as exc:
        raise ToolkitError(f"{path} is not valid JSON ({exc}), so it is not a valid {what}. Use an intact copy of the "
                           "run folder.") from None
    except OSError as exc:
        raise ToolkitError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    return check(path, data, model, what)
