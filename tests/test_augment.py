"""The recipe's [[augment]] steps: torchvision.transforms.v2 by name, checked first, one draw per image, seeded."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import QUICK_RECIPE
from toolkit.api import ImageSet, ToolkitError
from toolkit.components.registry import default_registry
from toolkit.imagedata.augment import Augmentation, with_augmentation
from toolkit.recipes.build import build_components, check_against_data
from toolkit.recipes.recipe import load_recipe


def recipe_with(write_recipe, augment: str):
    return load_recipe(write_recipe(QUICK_RECIPE + augment))


def test_an_unknown_step_name_suggests_the_close_one(write_recipe):
    recipe = recipe_with(write_recipe, '\n[[augment]]\nname = "RandomHorizontalFlp"\n')
    with pytest.raises(ToolkitError, match="RandomHorizontalFlip"):
        build_components(recipe)


def test_a_misspelt_parameter_is_named_before_training(write_recipe):
    recipe = recipe_with(write_recipe, '\n[[augment]]\nname = "RandomCrop"\nsise = [8, 8]\n')
    with pytest.raises(ToolkitError, match=r"augment.0.sise: unknown parameter. Did you mean 'size'"):
        build_components(recipe)


def test_a_step_that_changes_the_image_size_is_refused_against_the_data(write_recipe):
    recipe = recipe_with(write_recipe, '\n[[augment]]\nname = "RandomResizedCrop"\nsize = [6, 6]\n')
    components = build_components(recipe)
    with pytest.raises(ToolkitError, match=r"\[\[augment\]\] 0 \('RandomResizedCrop'\) turns a \(1, 8, 8\) torch.uint8"):
        check_against_data(recipe, components)


def test_steps_build_from_the_recipe_in_order(write_recipe):
    recipe = recipe_with(write_recipe, '\n[[augment]]\nname = "RandomCrop"\nsize = [8, 8]\npadding = 1\n'
                                       '\n[[augment]]\nname = "RandomHorizontalFlip"\n')
    components = build_components(recipe)
    assert [name for name, _ in components.augmentation.steps] == ["RandomCrop", "RandomHorizontalFlip"]
    check_against_data(recipe, components)


def flips() -> Augmentation:
    from torchvision.transforms import v2

    return Augmentation([("RandomHorizontalFlip", v2.RandomHorizontalFlip())])


def left_bright_images(count: int) -> ImageSet:
    images = torch.zeros(count, 1, 4, 6, dtype=torch.uint8)
    images[..., 0] = 255  # the left column: a flip moves it right
    return ImageSet(images, torch.zeros(count, dtype=torch.long))


def test_every_image_of_a_batch_draws_its_own_parameters():
    torch.manual_seed(0)
    batch = with_augmentation(left_bright_images(64), flips()).batch(torch.arange(64))
    flipped = batch[:, 0, 0, -1] == 1.0
    assert 10 < int(flipped.sum()) < 54


def test_the_same_seed_draws_the_same_augmentation():
    images = with_augmentation(left_bright_images(32), flips())
    torch.manual_seed(7)
    first = images.batch(torch.arange(32))
    torch.manual_seed(7)
    assert torch.equal(first, images.batch(torch.arange(32)))


def test_evaluation_reads_the_split_unaugmented():
    plain = left_bright_images(16)
    augmented = with_augmentation(plain, flips())
    torch.manual_seed(0)
    augmented.batch(torch.arange(16))
    assert torch.equal(plain.batch(torch.arange(16))[:, 0, 0, 0], torch.ones(16))
    assert augmented.images is plain.images  # no copy of the images


def test_augmentations_are_a_plugin_kind_listing_torchvision_transforms():
    names = default_registry().names("augmentations")
    assert {"RandomResizedCrop", "RandomHorizontalFlip", "ColorJitter", "RandAugment", "RandomErasing"} <= set(names)
