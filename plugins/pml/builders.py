"""Factories for PML classes: a keyword-only signature a recipe is checked against, and nested objects
(``distance = "CosineSimilarity"``, ``[loss.reducer] name = "ThresholdReducer"``) resolved by name."""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable

import pytorch_metric_learning
import torch

from toolkit.api import Parameter, check_parameters, did_you_mean

from .catalogue import (OBJECT_PARAMETERS, SINGULAR, TENSOR_PARAMETERS, class_parameters, classes,
                        documentation_url)

PREFIX = "pml."


def signature_function(name: str, parameters: list[Parameter], doc: str,
                       body: Callable[..., Any]) -> Callable[..., Any]:
    """A function that calls ``body(**kwargs)`` and shows ``parameters`` as its keyword-only signature."""

    def factory(**kwargs: Any) -> Any:
        return body(**kwargs)

    factory.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, annotation=p.annotation,
                          default=inspect.Parameter.empty if p.required else p.default)
        for p in parameters
    ])
    factory.__annotations__ = {p.name: p.annotation for p in parameters}
    factory.__name__ = factory.__qualname__ = name.replace(".", "_")
    factory.__doc__ = doc
    return factory


def describe(family: str, name: str, cls: type, parameters: list[Parameter]) -> str:
    """Docstring of a PML factory: a summary line, then an ``Args:`` section that ``toolkit list`` shows."""
    own = inspect.cleandoc(cls.__dict__.get("__doc__") or "").splitlines()  # the class's own, not nn.Module's
    first = f" {own[0].rstrip('.')}." if own and own[0].strip() else ""
    lines = [f"pytorch-metric-learning {pytorch_metric_learning.__version__} {name}.{first} "
             f"Reference: {documentation_url(family, name)}", "", "Args:"]
    lines += [f"    {p.name}: {p.doc or 'see the PML reference.'}" for p in parameters]
    return "\n".join(lines)


@functools.lru_cache(maxsize=None)
def builder(family: str, name: str) -> Callable[..., Any]:
    """The factory that builds PML class ``name`` of ``family`` from recipe values (nested objects by name)."""
    cls = classes(family)[name]
    parameters = list(class_parameters(cls))

    def build(**kwargs: Any) -> Any:
        where = kwargs.pop("_where", SINGULAR[family])
        return construct(cls, family, name, kwargs, where)

    return signature_function(f"{PREFIX}{name}", parameters, describe(family, name, cls, parameters), build)


def construct(cls: type, family: str, name: str, values: dict[str, Any], where: str) -> Any:
    """``cls(**values)`` with nested PML objects resolved; PML's own refusals become ValueErrors."""
    known = {p.name: p for p in class_parameters(cls)}
    kwargs = {}
    for key, value in values.items():
        if key in OBJECT_PARAMETERS and key in known:
            kwargs[key] = resolve(OBJECT_PARAMETERS[key], value, f"{where}.{key}")
        elif key in TENSOR_PARAMETERS and isinstance(value, (list, tuple)):
            kwargs[key] = torch.tensor(value, dtype=torch.float32)
        else:
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except Exception as exc:  # PML checks its arguments with assert and plain Exception
        raise ValueError(f"{where}: PML's {name} refused these parameters ({type(exc).__name__}: {exc})") from None


def resolve(family: str, value: Any, where: str) -> Any:
    """A nested PML object from a class name or a ``{name = ..., key = value}`` table; objects pass through."""
    if value is None or not isinstance(value, (str, dict)):
        return value
    table = {"name": value} if isinstance(value, str) else dict(value)
    name = table.pop("name", None)
    what = f"PML {SINGULAR[family]}"
    if not isinstance(name, str):
        raise ValueError(f"{where}: a table for a {what} needs name = \"...\" (one of {', '.join(classes(family))})")
    bare = name[len(PREFIX):] if name.startswith(PREFIX) else name
    known = classes(family)
    if bare not in known:
        hint = did_you_mean(bare, known)
        raise ValueError(f"{where}: unknown {what} {name!r}.{hint} Known: {', '.join(known)}")
    factory = builder(family, bare)
    table = _tuples(factory, table)
    problems = check_parameters(factory, table)
    if problems:
        details = " ".join(f"{where}.{p.key}: {p.message}" for p in problems)
        raise ValueError(f"{where} ({bare}) has bad parameters. {details}")
    return construct(known[bare], family, bare, table, where)


def _tuples(factory: Callable[..., Any], values: dict[str, Any]) -> dict[str, Any]:
    """TOML arrays become tuples where the parameter is annotated as a tuple."""
    hints = factory.__annotations__
    out = dict(values)
    for key, value in values.items():
        if isinstance(value, list) and is_tuple_annotation(hints.get(key)):
            out[key] = tuple(value)
    return out


def is_tuple_annotation(annotation: Any) -> bool:
    return annotation is tuple or typing.get_origin(annotation) is tuple or any(
        is_tuple_annotation(a) for a in typing.get_args(annotation))
