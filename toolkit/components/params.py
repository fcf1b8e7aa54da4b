"""Reading a factory's parameters from its signature, and checking recipe keys against them.

The check uses pydantic in strict mode: ``"2"`` is not a number and ``true`` is not an integer,
because a recipe value of the wrong type is almost always a mistake.
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

import pydantic

from toolkit.components.lazy import resolved
from toolkit.errors import did_you_mean


@dataclass(frozen=True)
class Parameter:
    """One keyword argument of a component factory."""

    name: str
    annotation: Any
    default: Any
    required: bool
    doc: str = ""

    @property
    def type_name(self) -> str:
        """The type as `toolkit list` and the reference show it, constraints included: ``int (>= 1)``."""
        return type_text(self.annotation)


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "multiple_of": "multiple of", "min_length": "length >=",
           "max_length": "length <="}


def type_text(annotation: Any) -> str:
    """``annotation`` written for people: ``Annotated[int, Field(ge=1)]`` is ``int (>= 1)``."""
    if annotation is Any:
        return "any"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        bounds = [f"{_BOUNDS[key]} {getattr(item, key)}" for item in _constraints(args[1:]) for key in _BOUNDS
                  if getattr(item, key, None) is not None]
        return f"{type_text(args[0])} ({', '.join(bounds)})" if bounds else type_text(args[0])
    if annotation is type(None):
        return "None"
    if not args:
        return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
    if not _mentions_annotated(annotation):
        return str(annotation).replace("typing.", "")
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in args)
    return f"{getattr(origin, '__name__', origin)}[{', '.join(type_text(a) for a in args)}]"


def _constraints(metadata: tuple[Any, ...]) -> list[Any]:
    """The constraint objects of ``Annotated`` metadata: a ``Field(...)``'s own, or annotated-types' ``Ge(1)``."""
    return [m for item in metadata for m in (getattr(item, "metadata", None) or [item])]


def _mentions_annotated(annotation: Any) -> bool:
    return typing.get_origin(annotation) is typing.Annotated or any(
        _mentions_annotated(a) for a in typing.get_args(annotation))


def _signature_target(factory: Callable[..., Any]) -> Callable[..., Any]:
    return factory.__init__ if inspect.isclass(factory) else factory  # type: ignore[misc]


def parameters(factory: Callable[..., Any]) -> list[Parameter]:
    """The keyword parameters a recipe may give to ``factory``."""
    factory = resolved(factory)
    target = _signature_target(factory)
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:
        hints = {}
    docs = argument_docs(inspect.getdoc(factory) or "")
    result = []
    for name, param in inspect.signature(factory).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or name == "self":
            continue
        required = param.default is inspect.Parameter.empty
        result.append(Parameter(name, hints.get(name, Any), None if required else param.default, required, docs.get(name, "")))
    return result


def argument_docs(docstring: str) -> dict[str, str]:
    """Parameter descriptions from a Google-style ``Args:`` section."""
    docs: dict[str, str] = {}
    lines = docstring.splitlines()
    if "Args:" not in (line.strip() for line in lines):
        return docs
    start = [line.strip() for line in lines].index("Args:") + 1
    current = None
    indent = None
    for line in lines[start:]:
        if not line.strip():
            continue
        width = len(line) - len(line.lstrip())
        if indent is None:
            indent = width
        if width < indent:
            break
        text = line.strip()
        if width == indent and ":" in text:
            current, _, rest = text.partition(":")
            current = current.split("(")[0].strip()
            docs[current] = rest.strip()
        elif current:
            docs[current] = f"{docs[current]} {text}".strip()
    return docs


def accepts_any_keyword(factory: Callable[..., Any]) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(resolved(factory)).parameters.values())


def parameter_model(factory: Callable[..., Any], *, exclude: tuple[str, ...] = ()) -> type[pydantic.BaseModel]:
    """A pydantic model of ``factory``'s keyword parameters (used to check and to export a schema)."""
    fields: dict[str, Any] = {}
    for p in parameters(factory):
        if p.name in exclude:
            continue
        fields[p.name] = (p.annotation, ... if p.required else p.default)
    extra = "allow" if accepts_any_keyword(factory) else "forbid"
    config = pydantic.ConfigDict(strict=True, extra=extra, arbitrary_types_allowed=True,
                                 allow_inf_nan=False)  # inf or nan would only fail mid-training
    return pydantic.create_model(f"{getattr(factory, '__name__', 'factory')}_parameters", __config__=config, **fields)


@dataclass(frozen=True)
class ParameterProblem:
    """One thing wrong with the keys given to a factory."""

    key: str
    message: str


def check_parameters(factory: Callable[..., Any], values: dict[str, Any], *, exclude: tuple[str, ...] = ()) -> list[ParameterProblem]:
    """Every problem with ``values`` as keyword arguments of ``factory``; empty when they fit."""
    model = parameter_model(factory, exclude=exclude)
    try:
        model.model_validate(values)
    except pydantic.ValidationError as exc:
        params = {p.name: p for p in parameters(factory) if p.name not in exclude}
        grouped: dict[str, list[Any]] = {}
        for err in exc.errors():
            grouped.setdefault(_key(err["loc"]), []).append(err)
        return [_describe(key, errs, params) for key, errs in grouped.items()]
    return []


def _key(loc: tuple[Any, ...]) -> str:
    """``('k', 1)`` → ``k.1``; union branch tags such as ``('lr', 'float')`` are dropped."""
    parts = [str(loc[0])] + [str(part) for part in loc[1:] if isinstance(part, int)]
    return ".".join(parts)


def _describe(key: str, errors: list[Any], params: dict[str, Parameter]) -> ParameterProblem:
    kind = errors[0]["type"]
    if kind == "extra_forbidden":
        hint = did_you_mean(key, params)
        return ParameterProblem(key, f"unknown parameter.{hint} Known parameters: {', '.join(params) or 'none'}.")
    if kind == "missing":
        return ParameterProblem(key, "this parameter is required and has no default.")
    given = errors[0].get("input")
    if len(errors) > 1 and key in params:
        return ParameterProblem(key, f"expected {params[key].type_name}; got {given!r} ({type(given).__name__}).")
    return ParameterProblem(key, f"{errors[0]['msg'].rstrip('.')}; got {given!r} ({type(given).__name__}).")
