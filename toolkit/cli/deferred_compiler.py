"""Importing torchvision without torch's compiler, for commands that check or use a model but never compile one.

Importing torchvision imports ``torch._dynamo``, which takes longer than torchvision itself (about 1.6 s on two
cores): ``torchvision.ops.roi_align`` imports one helper from ``torch._dynamo.utils``, and
``torchvision.tv_tensors`` decorates a function with ``torch.compiler.disable``. Inside :func:`compiler_deferred`,
that helper and that decorator reach ``torch._dynamo`` only when first called, so ``toolkit validate``, ``compare``,
``search``, ``embed`` and ``index`` start as fast with a torchvision backbone as without. Nothing else changes: the
helper and the decorated functions behave as before once called, and anything that asks for ``torch._dynamo`` gets
the real one.
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch

DYNAMO_UTILS = "torch._dynamo.utils"


class _DeferredDynamoUtils(types.ModuleType):
    """Stands in for ``torch._dynamo.utils`` until something other than ``is_compile_supported`` is asked of it."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # inspect and pickle look over every module for __file__ and the like
            raise AttributeError(name)
        return getattr(_real_dynamo_utils(), name)


def _real_dynamo_utils() -> types.ModuleType:
    if isinstance(sys.modules.get(DYNAMO_UTILS), _DeferredDynamoUtils):
        del sys.modules[DYNAMO_UTILS]
    return importlib.import_module(DYNAMO_UTILS)


def is_compile_supported(device_type: str) -> bool:
    return _real_dynamo_utils().is_compile_supported(device_type)


def _deferring(real_disable: Callable[..., Any]) -> Callable[..., Any]:
    """``torch.compiler.disable`` that builds the disabled function on its first call instead of at decoration."""

    def disable(fn: Callable[..., Any] | None = None, recursive: bool = True, *, reason: str | None = None) -> Any:
        if fn is None:
            return functools.partial(disable, recursive=recursive, reason=reason)
        disabled: Callable[..., Any] | None = None

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal disabled
            if disabled is None:
                disabled = real_disable(fn, recursive, reason=reason)
            return disabled(*args, **kwargs)

        return call

    return disable


@contextmanager
def compiler_deferred() -> Iterator[None]:
    """Within this block, importing torchvision does not import ``torch._dynamo``; on leaving it, the stand-in
    module is removed and ``torch.compiler.disable`` is itself again. Does nothing once either is imported."""
    if "torch._dynamo" in sys.modules or "torchvision" in sys.modules:
        yield
        return
    stand_in = _DeferredDynamoUtils(DYNAMO_UTILS)
    stand_in.is_compile_supported = is_compile_supported
    real_disable = torch.compiler.disable
    sys.modules[DYNAMO_UTILS] = stand_in
    torch.compiler.disable = _deferring(real_disable)
    try:
        yield
    finally:
        torch.compiler.disable = real_disable
        if sys.modules.get(DYNAMO_UTILS) is stand_in:
            del sys.modules[DYNAMO_UTILS]
