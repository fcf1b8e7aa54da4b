"""The resolved recipe that ``toolkit validate --print`` shows: overrides applied, every default written out."""

from __future__ import annotations

import copy
from typing import Any

import tomli_w

from toolkit.components.params import parameters
from toolkit.components.registry import Registry
from toolkit.recipes.build import optimizer_classes, scheduler_classes
from toolkit.recipes.recipe import Recipe

KINDS = {"dataset": "datasets", "sampler": "samplers", "encoder": "encoders", "loss": "losses", "miner": "miners"}


def resolved_recipe(recipe: Recipe, registry: Registry) -> dict[str, Any]:
    """``recipe.data`` with the ``[run]`` settings and each component's unset parameters at their defaults."""
    data = copy.deepcopy(recipe.data)
    data["run"] = {**_toml_values(recipe.run.model_dump()), **data.get("run", {})}
    for section, kind in KINDS.items():
        if section in data:
            _fill_defaults(data[section], registry.get(kind, data[section]["name"]).factory)
    for table in data.get("evaluators", []):
        _fill_defaults(table, registry.get("evaluators", table["name"]).factory)
    data.setdefault("optimizer", {"name": recipe.optimizer.name})
    _fill_defaults(data["optimizer"], optimizer_classes()[recipe.optimizer.name], skip="params")
    if recipe.scheduler is not None:
        _fill_defaults(data["scheduler"], scheduler_classes()[recipe.scheduler.name], skip="optimizer")
    return data


def _fill_defaults(table: dict[str, Any], factory: Any, skip: str = "") -> None:
    defaults = {p.name: p.default for p in parameters(factory) if not p.required and p.name not in table and p.name != skip}
    table.update(_toml_values(defaults))


def _toml_values(values: dict[str, Any]) -> dict[str, Any]:
    """The values TOML can write (it has no null); a default of None means "unset", so it is left out."""
    kept = {}
    for key, value in values.items():
        value = list(value) if isinstance(value, tuple) else value
        try:
            tomli_w.dumps({key: value})
        except TypeError:
            continue
        kept[key] = value
    return kept


def format_resolved(recipe: Recipe, registry: Registry) -> str:
    return (f"# {recipe.path}, resolved: overrides applied, defaults written out\n"
            + tomli_w.dumps(resolved_recipe(recipe, registry)))
