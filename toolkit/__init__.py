"""toolkit: deep metric learning from TOML recipes, extended through pluggy plugins.

Use a trained run from Python with :func:`load_run` (``toolkit.load_run("runs/...").embed(["a.png"])``).
Plugins import :mod:`toolkit.api`, the versioned plugin API; everything else in this package is internal.
"""

from __future__ import annotations

from typing import Any

from toolkit import _deprecated

__version__ = "0.1.0"
__all__ = ["__version__", "load_run", "Model", "Comparison", "Neighbour"]
_PYTHON_API = ("load_run", "Model", "Comparison", "Neighbour")

_deprecated.install()


def __getattr__(name: str) -> Any:
    if name in _PYTHON_API:  # imported on first use: `import toolkit` stays free of torch
        from toolkit.model import python_api

        return getattr(python_api, name)
    if name in _deprecated.MOVED_NAMES:
        return _deprecated.moved_name(name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
