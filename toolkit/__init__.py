"""toolkit: deep metric learning from TOML recipes, extended through pluggy plugins.

Plugins import :mod:`toolkit.api`, the versioned plugin API; everything else in this package is internal.
"""

from __future__ import annotations

from typing import Any

from toolkit import _deprecated

__version__ = "0.1.0"
__all__ = ["__version__"]

_deprecated.install()


def __getattr__(name: str) -> Any:
    if name in _deprecated.MOVED_NAMES:
        return _deprecated.moved_name(name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
