"""The plugin API: the one module a plugin imports.

Everything a dataset, encoder, loss, sampler, miner or evaluator may use is listed in ``__all__`` below;
the rest of the ``toolkit`` package is internal and may change in any release. ``API_VERSION`` follows
semantic versioning: a minor release adds names, only a major release removes or changes one. A plugin
may declare the range it needs with ``TOOLKIT_API = ">=1.0,<2"`` in its entry-point module.

Heavy helpers (plots, faiss, image files) are imported on first use, so importing this module stays cheap.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Sequence

from toolkit.components.hookspecs import hookimpl
from toolkit.errors import ToolkitError

API_VERSION = "1.1.0"

# name -> internal module that defines it
_EXPORTS: dict[str, str] = {
    # what components exchange with the runner
    "Batch": "toolkit.components.contracts",
    "BatchKind": "toolkit.components.contracts",
    "EmbeddedBatch": "toolkit.components.contracts",
    "Loss": "toolkit.components.contracts",
    "Encoder": "toolkit.components.contracts",
    "Sampler": "toolkit.components.contracts",
    "Miner": "toolkit.components.contracts",
    "MinedPairs": "toolkit.components.contracts",
    "MinedTriplets": "toolkit.components.contracts",
    "Evaluator": "toolkit.components.contracts",
    "EvalContext": "toolkit.components.contracts",
    "batch_members": "toolkit.training.members",
    # datasets
    "Dataset": "toolkit.imagedata.datasets",
    "ImageSet": "toolkit.imagedata.datasets",
    "data_root": "toolkit.imagedata.data_root",
    "DATA_VARIABLE": "toolkit.imagedata.data_root",
    "IMAGE_SUFFIXES": "toolkit.imagedata.images",
    "ImageReader": "toolkit.imagedata.images",
    "image_files": "toolkit.imagedata.images",
    "ImageFiles": "toolkit.imagedata.decoding",
    "ImageLoading": "toolkit.imagedata.files_dataset",
    "files_dataset": "toolkit.imagedata.files_dataset",
    "load_images": "toolkit.imagedata.cache",
    "Preprocessing": "toolkit.imagedata.normalization",
    "stratified_split": "toolkit.imagedata.stratified",
    # parameters of nested components, and the hint for an unknown name
    "Parameter": "toolkit.components.params",
    "check_parameters": "toolkit.components.params",
    "LazyFactory": "toolkit.components.lazy",
    "did_you_mean": "toolkit.errors",
    # files an evaluator writes
    "write_atomic": "toolkit.runfolder.rundir",
    "write_json": "toolkit.runfolder.rundir",
    "loss_curve": "toolkit.reporting.plots",
    "scatter_by_class": "toolkit.reporting.plots",
    "project_2d": "toolkit.reporting.projection",
    # nearest-neighbour search
    "IndexChoice": "toolkit.model.faiss_index",
    "build_index": "toolkit.model.faiss_index",
}

__all__ = ["API_VERSION", "ToolkitError", "hookimpl", "registered", "run_recipe", *_EXPORTS]


def registered(kind: str) -> dict[str, str]:
    """The components of ``kind`` that the installed plugins register, as name -> plugin name.

    ``kind`` is ``"datasets"``, ``"encoders"``, ``"losses"``, ``"samplers"``, ``"miners"`` or ``"evaluators"``.
    The plugins are loaded afresh, so a plugin's own tests see it as ``toolkit`` does::

        assert registered("losses")["my_loss"] == "my-distribution.my_entry_point"
    """
    from toolkit.components.registry import KINDS, default_registry, reset_default_registry

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    reset_default_registry()
    return {component.name: component.plugin for component in default_registry().components(kind)}


def run_recipe(recipe: str | Path, *, output: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Train and evaluate ``recipe`` as ``toolkit run`` does, quietly, into the new run folder ``output``.

    ``overrides`` are ``KEY=VALUE`` strings, as ``toolkit run --set`` takes them. Returns what the run wrote to
    ``output/metrics.json``: ``"evaluation"`` (evaluator -> metric -> number), ``"artifacts"`` (evaluator -> name ->
    file in ``output``) and the training record. A bad recipe raises :class:`ToolkitError`.
    """
    from toolkit.training.runner import run

    return run(Path(recipe), overrides=tuple(overrides), output=str(output), progress=False).metrics


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'toolkit.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
