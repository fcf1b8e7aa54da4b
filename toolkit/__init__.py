"""toolkit: deep metric learning from TOML recipes, extended through pluggy plugins.

The public API for plugin authors is small: :data:`hookimpl` to mark hook implementations,
:class:`ToolkitError` for mistakes a user can fix, the data types in :mod:`toolkit.data` and
:mod:`toolkit.api`, :func:`check_parameters` for plugins that build nested components from a table of
values, and :class:`IndexChoice` / :func:`build_index` for the faiss index a gallery gets (imported lazily here,
so that ``import toolkit`` stays fast).
"""

from __future__ import annotations

from typing import Any

from toolkit.errors import ToolkitError
from toolkit.hookspecs import hookimpl

__version__ = "0.1.0"

_LAZY = {
    "ImageSet": "toolkit.data",
    "Dataset": "toolkit.data",
    "Batch": "toolkit.api",
    "EmbeddedBatch": "toolkit.api",
    "Loss": "toolkit.api",
    "Sampler": "toolkit.api",
    "Evaluator": "toolkit.api",
    "EvalContext": "toolkit.api",
    "check_parameters": "toolkit.params",
    "IndexChoice": "toolkit.faiss_index",
    "build_index": "toolkit.faiss_index",
}

__all__ = ["ToolkitError", "hookimpl", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
