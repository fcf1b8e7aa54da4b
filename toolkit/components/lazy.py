"""Factories named by import path, imported the first time they are called or inspected.

A plugin that offers many components from a heavy library (every transform of ``torchvision.transforms.v2``)
registers them this way, so that loading the plugins, and checking a recipe that never uses them, costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from toolkit.errors import ToolkitError


@dataclass(frozen=True)
class LazyFactory:
    """``module.name``, imported on first use; calling it calls that object."""

    module: str
    name: str

    def resolve(self) -> Callable[..., Any]:
        try:
            return getattr(importlib.import_module(self.module), self.name)
        except (ImportError, AttributeError) as exc:
            raise ToolkitError(f"{self.module}.{self.name} cannot be imported here ({exc}); the installed "
                               f"{self.module.split('.')[0]} may be too old for it.") from None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)


def resolved(factory: Callable[..., Any]) -> Callable[..., Any]:
    """The object behind ``factory``: itself, unless it is a :class:`LazyFactory`."""
    return factory.resolve() if isinstance(factory, LazyFactory) else factory
