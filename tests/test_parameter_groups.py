"""Learning rates per parameter group, warm-up before the scheduler, and a backbone frozen for its first epochs."""

from __future__ import annotations

import json

import pytest
import torch

from toolkit.api import ToolkitError
from toolkit.recipes.build import build_components
from toolkit.recipes.recipe import load_recipe
from toolkit.training.runner import _train_state

RECIPE = """
[run]
seed = 0
epochs = 3

[dataset]
name = "digits"

[sampler]
name = "pairs"
batch_size = 64

[encoder]
name = "torchvision"
arch = "resnet18"
embedding_dim = 8

[loss]
name = "contrastive"

[optimizer]
name = "AdamW"
lr = 0.001
weight_decay = 0.05
{optimizer_extra}

{scheduler}
"""

GROUPS = "warmup_epochs = 2\n[optimizer.groups.backbone]\nlr = 0.0001\nweight_decay = 0.0\n"


def state_of(write_recipe, optimizer_extra=GROUPS, scheduler=""):
    path = write_recipe(RECIPE.format(optimizer_extra=optimizer_extra, scheduler=scheduler))
    recipe = load_recipe(path)
    return _train_state(recipe, build_components(recipe))


def test_the_backbone_and_the_head_get_their_own_learning_rates(write_recipe):
    state = state_of(write_recipe, optimizer_extra="[optimizer.groups.backbone]\nlr = 0.0001\nweight_decay = 0.0\n")
    backbone, rest = state.optimizers[0].param_groups
    assert (backbone["lr"], backbone["weight_decay"]) == (0.0001, 0.0)
    assert (rest["lr"], rest["weight_decay"]) == (0.001, 0.05)
    assert {id(p) for p in rest["params"]} == {id(p) for p in state.encoder.head.parameters()}


def test_warm_up_starts_every_group_low_and_reaches_its_rate(write_recipe):
    state = state_of(write_recipe)
    optimizer, scheduler = state.optimizers[0], state.schedulers[0]
    first = [g["lr"] for g in optimizer.param_groups]
    optimizer.step()
    scheduler.step()
    optimizer.step()
    scheduler.step()
    assert first == pytest.approx([0.0001 * 0.01, 0.001 * 0.01])
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.0001, 0.001])


def test_warm_up_hands_over_to_the_recipes_scheduler(write_recipe):
    state = state_of(write_recipe, scheduler='[scheduler]\nname = "StepLR"\nstep_size = 1\ngamma = 0.5\n')
    optimizer, scheduler = state.optimizers[0], state.schedulers[0]
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.00005, 0.0005])


def test_a_group_the_encoder_does_not_declare_is_a_clear_error(write_recipe):
    with pytest.raises(ToolkitError, match="names neck, but the encoder 'torchvision' has the parameter groups: backbone, head"):
        state_of(write_recipe, optimizer_extra="[optimizer.groups.neck]\nlr = 0.1\n")


def test_warm_up_before_reduce_on_plateau_is_refused_before_training(write_recipe):
    path = write_recipe(RECIPE.format(optimizer_extra="warmup_epochs = 1",
                                                scheduler='[scheduler]\nname = "ReduceLROnPlateau"\n'))
    with pytest.raises(ToolkitError, match="warmup_epochs cannot precede ReduceLROnPlateau"):
        load_recipe(path)


def test_a_bad_group_value_shows_at_validation(write_recipe):
    path = write_recipe(RECIPE.format(optimizer_extra="[optimizer.groups.backbone]\nlr = -1.0\n", scheduler=""))
    with pytest.raises(ToolkitError, match="Invalid learning rate"):
        build_components(load_recipe(path))


@pytest.mark.slow
def test_a_run_records_each_epochs_warmed_up_backbone_rate(write_recipe, tmp_path):
    from toolkit.training.runner import run

    text = RECIPE.format(optimizer_extra=GROUPS, scheduler="").replace("embedding_dim = 8", "embedding_dim = 8\nfreeze_epochs = 1")
    run(write_recipe(text), overrides=("run.epochs=2",), output=str(tmp_path / "run"))
    history = json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]
    assert [h["lr"] for h in history] == pytest.approx([0.0001 * 0.01, 0.0001 * 0.505])
