"""Checkpoints: everything needed to continue a run, saved atomically and loaded without pickle."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from toolkit.errors import ToolkitError
from toolkit.runfolder import schemas
from toolkit.runfolder.rundir import CHECKPOINT_FILE, RECIPE_FILE, write_atomic


RESUMABLE_CHANGES = ("run.epochs", "run.output", "run.threads", "run.eval_batch_size", "run.tensorboard", "evaluators")
"""Recipe keys that may differ between a run and its resumption: none of them changes what training computes."""


def recipe_fingerprint(data: dict[str, Any]) -> str:
    """A hash of the recipe that ignores what may differ between a run and its resumption."""
    trimmed = json.loads(json.dumps(data, default=str))
    for key in RESUMABLE_CHANGES:
        section, _, name = key.partition(".")
        if name:
            trimmed.get(section, {}).pop(name, None)
        else:
            trimmed.pop(section, None)
    return hashlib.sha256(json.dumps(trimmed, sort_keys=True).encode()).hexdigest()[:16]


def resume_advice(command: str) -> str:
    """What to do after a run failed past a checkpoint: ``--resume`` only continues the same recipe."""
    return (f"If the cause lies outside the recipe (data, disk, machine), fix it and continue with `{command}`; a fix "
            f"in the recipe (other than {', '.join(RESUMABLE_CHANGES)}) makes a different run: start it in a new folder.")


def save(path: Path, state: dict[str, Any]) -> None:
    write_atomic(path, lambda tmp: torch.save(state, tmp))


def load(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``: tensors and plain containers only, no code."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols before refusing them
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        wanted = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if wanted:
            raise ToolkitError(
                f"Refusing to load {str(path)!r}: it asks to import and call {wanted.group(1)} while it is read, so "
                "loading it would run code. A checkpoint holds only tensors and plain values and never needs that; "
                "the file was not loaded. Use a checkpoint the toolkit wrote, from a source you trust."
            ) from None
        raise ToolkitError(
            f"Cannot read the checkpoint {str(path)!r}: it is damaged or not a toolkit checkpoint "
            f"({_unpickling_detail(exc)}); it was not loaded. Use another copy, or start the run again without --resume."
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0].split(". ")[0].rstrip(".") if str(exc) else type(exc).__name__
        raise ToolkitError(
            f"Cannot read the checkpoint {str(path)!r}: it is damaged or not a toolkit checkpoint ({reason}). "
            "Use another copy, or start the run again without --resume."
        ) from None
    if not isinstance(state, dict) or "encoder" not in state:
        raise ToolkitError(f"{str(path)!r} is not a toolkit checkpoint (no encoder weights in it).")
    return state


def _unpickling_detail(exc: Exception) -> str:
    """torch's reason for refusing a file, without its advice on loading the file unsafely."""
    text = re.sub(r"^.*WeightsUnpickler error: *", "", str(exc), flags=re.S)  # the advice comes before the reason
    reasons = [p.strip() for p in text.split("\n\n") if p.strip() and "weights_only" not in p]
    return reasons[0].splitlines()[0].split(". ")[0].rstrip(".") if reasons else type(exc).__name__


def load_for_resume(run_dir: Path, fingerprint: str, recipe_path: Path, world_size: int = 1) -> dict[str, Any]:
    """The checkpoint of ``run_dir``, checked to come from the same recipe and the same number of processes
    (``world_size``), before anything in the folder changes."""
    path = run_dir / CHECKPOINT_FILE
    if not path.is_file():
        raise ToolkitError(
            f"Cannot resume from {str(run_dir)!r}: it holds no {CHECKPOINT_FILE}. Give the folder of a run that "
            "finished at least one epoch (or was stopped with Ctrl-C)."
        )
    saved = load(path)
    head = schemas.check(path, saved, schemas.CheckpointHead, "checkpoint")  # before the run's status can change
    saved["partial"] = head.partial.model_dump() if head.partial else None
    if saved.get("recipe_fingerprint") != fingerprint:
        raise ToolkitError(
            f"The checkpoint {str(path)!r} was written by a different recipe than {recipe_path} (only "
            f"{', '.join(RESUMABLE_CHANGES)} may change when resuming). Resume with the recipe that started the run, e.g. "
            f"{run_dir / RECIPE_FILE}, or start a new run in another folder."
        )
    written = int(saved.get("world_size", 1))  # checkpoints from before distributed training: one process
    if written != world_size:
        launch = f"torchrun --nproc_per_node {written} -m toolkit run ..." if written > 1 else "toolkit run ... without torchrun"
        raise ToolkitError(
            f"The checkpoint {str(path)!r} was written by a run of {written} process(es) (its world_size is {written}), "
            f"but this run has {world_size}. A run resumes only with the number of processes it started with, since "
            f"each process's share of every batch depends on it: resume with `{launch}` (as many processes in all), "
            "or start a new run in another folder."
        )
    return saved
