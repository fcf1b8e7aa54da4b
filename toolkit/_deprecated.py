"""Import paths of toolkit 0.1 that moved: they keep working, with a DeprecationWarning, until toolkit 0.3.

Plugins import :mod:`toolkit.api`; the modules below were importable by plugins before it existed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from typing import Any

MOVED_MODULES = {
    "toolkit.data": "toolkit.imagedata.datasets",
    "toolkit.hookspecs": "toolkit.components.hookspecs",
    "toolkit.members": "toolkit.training.members",
    "toolkit.params": "toolkit.components.params",
    "toolkit.images": "toolkit.imagedata.images",
    "toolkit.rundir": "toolkit.runfolder.rundir",
    "toolkit.plots": "toolkit.reporting.plots",
    "toolkit.faiss_index": "toolkit.model.faiss_index",
}

MOVED_NAMES = ("hookimpl", "ToolkitError", "ImageSet", "Dataset", "Batch", "EmbeddedBatch", "Loss", "Sampler",
               "Evaluator", "EvalContext", "check_parameters", "IndexChoice", "build_index")


def warn(old: str, stacklevel: int = 3) -> None:
    warnings.warn(f"{old} is deprecated and will be removed in toolkit 0.3: import from toolkit.api instead.",
                  DeprecationWarning, stacklevel=stacklevel)


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module path with the module that now lives elsewhere."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in MOVED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> Any:
        warn(spec.name, stacklevel=8)
        return importlib.import_module(MOVED_MODULES[spec.name])

    def exec_module(self, module: Any) -> None:
        pass  # the module was executed under its new name


def install() -> None:
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Alias())


def moved_name(name: str) -> Any:
    """``from toolkit import X`` for a name that now lives in :mod:`toolkit.api`."""
    warn(f"toolkit.{name}")
    import toolkit.api

    return getattr(toolkit.api, name)
