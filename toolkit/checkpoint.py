"""Checkpoints: everything needed to continue a run, saved atomically and loaded without pickle."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import torch

from toolkit.errors import ToolkitError
from toolkit.rundir import write_atomic


def recipe_fingerprint(data: dict[str, Any]) -> str:
    """A hash of the recipe that ignores what may differ between a run and its resumption."""
    trimmed = json.loads(json.dumps(data, default=str))
    trimmed.get("run", {}).pop("epochs", None)
    trimmed.get("run", {}).pop("output", None)
    return hashlib.sha256(json.dumps(trimmed, sort_keys=True).encode()).hexdigest()[:16]


def save(path: Path, state: dict[str, Any]) -> None:
    write_atomic(path, lambda tmp: torch.save(state, tmp))


def load(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``: tensors and plain containers only, no code."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ToolkitError(
            f"Refusing to load {str(path)!r}: it holds objects other than tensors and plain data, which could run code "
            f"when loaded ({str(exc).splitlines()[0]}). Only load checkpoints written by the toolkit."
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ToolkitError(f"Cannot read the checkpoint {str(path)!r}: it is damaged or not a checkpoint ({exc}).") from None
    if not isinstance(state, dict) or "encoder" not in state:
        raise ToolkitError(f"{str(path)!r} is not a toolkit checkpoint (no encoder weights in it).")
    return state
