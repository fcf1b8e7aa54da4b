"""The optimizer of the encoder: learning rates per parameter group, and warm-up before any scheduler.

A recipe gives a group its own options with ``[optimizer.groups.NAME]`` (``lr``, ``weight_decay``, any option of
the optimizer) for the groups the encoder names in ``parameter_groups()``; every other parameter uses
``[optimizer]``'s. ``[optimizer] warmup_epochs = N`` raises every group's rate linearly over the first N epochs,
then hands over to ``[scheduler]``, if any.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from toolkit.components.contracts import Encoder
from toolkit.errors import ToolkitError
from toolkit.recipes.build import make_optimizer, make_scheduler
from toolkit.recipes.recipe import Recipe

WARMUP_START_FACTOR = 0.01


def grouped_optimizer(recipe: Recipe, encoder: nn.Module, other: list[nn.Parameter]) -> torch.optim.Optimizer:
    """The optimizer over the encoder's parameters, grouped as the encoder declares, and ``other`` parameters."""
    where = str(recipe.path)
    declared = encoder.parameter_groups() if isinstance(encoder, Encoder) else {}
    unknown = sorted(set(recipe.optimizer_groups) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none (it declares no parameter_groups())"
        raise ToolkitError(f"{where}: [optimizer.groups] names {', '.join(unknown)}, but the encoder "
                           f"{recipe.encoder.name!r} has the parameter groups: {known}. Rename or remove those tables.")
    groups = [{"params": declared[name], **options} for name, options in recipe.optimizer_groups.items()]
    taken = {id(p) for group in groups for p in group["params"]}
    rest = [p for p in encoder.parameters() if id(p) not in taken] + list(other)
    if rest:
        groups.append({"params": rest})
    return make_optimizer(recipe.optimizer, groups, where)


def scheduler_with_warmup(recipe: Recipe, optimizer: torch.optim.Optimizer) -> Any:
    """The recipe's scheduler, preceded by ``warmup_epochs`` of linear warm-up; None when there is neither."""
    main = make_scheduler(recipe.scheduler, optimizer, str(recipe.path)) if recipe.scheduler is not None else None
    if not recipe.warmup_epochs:
        return main
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=WARMUP_START_FACTOR, end_factor=1.0,
                                               total_iters=recipe.warmup_epochs)
    if main is None:
        return warmup
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, main], milestones=[recipe.warmup_epochs])
