"""The evaluation transform: the normalisation a run trains and evaluates with is the one transform.json records
and the one images given later get, whether the recipe's dataset or a pretrained backbone's weights set it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import toolkit
from toolkit.cli.main import main
from toolkit.errors import ToolkitError
from toolkit.model.trained import load_run
from toolkit.recipes.build import build_components
from toolkit.recipes.recipe import load_recipe
from toolkit.training import runner

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

RECIPE = """
[run]
seed = 0
epochs = 1
eval_batch_size = 1          # as `toolkit embed` of one file: the same numbers, not only close ones

[dataset]
name = "image_folder"
folder = "{folder}"
train_dir = "training"
test_dir = "testing"
size = [16, 16]
channels = 3
load = "memory"
{dataset_extra}

[sampler]
name = "class_balanced"
classes_per_batch = 3
images_per_class = 2

[encoder]
name = "torchvision"
arch = "resnet18"
embedding_dim = 8
{encoder_extra}

[loss]
name = "pml.MultiSimilarityLoss"

[optimizer]
name = "Adam"
lr = 0.001
{augment}
"""


def write_rgb_people(root, people: int, images_each: int = 2) -> None:
    """``people`` class folders of RGB PNG files, 20x18 (so every image is resized to the recipe's 16x16)."""
    rng = np.random.default_rng(people)
    for p in range(people):
        (root / f"p{p}").mkdir(parents=True)
        for k in range(images_each):
            pixels = rng.integers(0, 256, (18, 20, 3)).astype(np.uint8)
            pixels[:, :, p % 3] //= 4  # each person has a colour cast of its own
            Image.fromarray(pixels, "RGB").save(root / f"p{p}" / f"{k}.png")


@pytest.fixture
def rgb_folder(tmp_path):
    write_rgb_people(tmp_path / "people" / "training", 3)
    write_rgb_people(tmp_path / "people" / "testing", 2)
    return tmp_path / "people"


@pytest.fixture
def recipe_for(write_recipe, rgb_folder):
    def write(dataset_extra: str = "", encoder_extra: str = "", augment: str = ""):
        return load_recipe(write_recipe(RECIPE.format(folder=rgb_folder, dataset_extra=dataset_extra,
                                                      encoder_extra=encoder_extra, augment=augment)))
    return write


def test_a_backbone_from_weights_path_normalises_every_split_with_imagenet_statistics(recipe_for, resnet18_file):
    dataset = build_components(recipe_for(encoder_extra=f'weights_path = "{resnet18_file}"')).dataset
    for split in ("train", "test"):
        assert (dataset.split(split).mean, dataset.split(split).std) == (IMAGENET_MEAN, IMAGENET_STD)


def test_without_a_size_of_its_own_the_dataset_is_resized_to_the_size_the_weights_were_trained_at(
        write_recipe, rgb_folder, resnet18_file):
    text = RECIPE.format(folder=rgb_folder, dataset_extra="", encoder_extra=f'weights_path = "{resnet18_file}"',
                         augment="").replace("size = [16, 16]\n", "")
    dataset = build_components(load_recipe(write_recipe(text))).dataset
    assert [dataset.split(split).shape for split in ("train", "test")] == [(3, 224, 224)] * 2


def test_the_recipes_own_size_wins_over_the_weights_size(recipe_for, resnet18_file):
    dataset = build_components(recipe_for(encoder_extra=f'weights_path = "{resnet18_file}"')).dataset
    assert dataset.split("train").shape == (3, 16, 16)


def test_a_randomly_initialised_backbone_keeps_the_images_size(write_recipe, rgb_folder):
    text = RECIPE.format(folder=rgb_folder, dataset_extra="", encoder_extra="", augment="").replace("size = [16, 16]\n", "")
    assert build_components(load_recipe(write_recipe(text))).dataset.split("train").shape == (3, 18, 20)


def test_a_dataset_that_normalises_itself_keeps_its_own_numbers_with_a_pretrained_backbone(recipe_for, resnet18_file):
    recipe = recipe_for("normalize = true\nmean = 0.5\nstd = 0.25", f'weights_path = "{resnet18_file}"')
    train = build_components(recipe).dataset.split("train")
    assert (train.mean, train.std) == (0.5, 0.25)


def test_a_randomly_initialised_backbone_leaves_the_images_as_the_dataset_gives_them(recipe_for):
    train = build_components(recipe_for()).dataset.split("train")
    assert (train.mean, train.std) == (0.0, 1.0)


def test_per_channel_mean_and_std_from_the_dataset_normalise_each_channel(recipe_for):
    recipe = recipe_for("normalize = true\nmean = [0.1, 0.2, 0.3]\nstd = [0.5, 0.25, 0.125]")
    train = build_components(recipe).dataset.split("train")
    pixels = train.images[:1].float() / 255
    expected = (pixels - torch.tensor([0.1, 0.2, 0.3]).view(1, 3, 1, 1)) / torch.tensor([0.5, 0.25, 0.125]).view(1, 3, 1, 1)
    assert torch.allclose(train.batch(torch.tensor([0])), expected)


def test_grey_images_take_the_average_of_the_weights_rgb_statistics(recipe_for, resnet18_file):
    recipe = recipe_for(encoder_extra=f'weights_path = "{resnet18_file}"')
    recipe.dataset.params["channels"] = 1
    train = build_components(recipe).dataset.split("train")
    assert train.mean == pytest.approx(sum(IMAGENET_MEAN) / 3) and train.std == pytest.approx(sum(IMAGENET_STD) / 3)


def test_a_mean_list_that_does_not_fit_the_channels_names_the_recipe_and_the_key(recipe_for):
    recipe = recipe_for("normalize = true\nmean = [0.5, 0.5]")
    with pytest.raises(ToolkitError, match=rf"{recipe.path}: \[dataset\].*mean = \[0.5, 0.5\] has 2 values but the "
                                           r"images have 3 channel"):
        build_components(recipe)


@pytest.mark.parametrize("std", ["0", "[0.2, -0.1, 0.2]"])
def test_a_std_that_is_not_above_zero_names_the_recipe_and_the_key(recipe_for, std):
    recipe = recipe_for(f"normalize = true\nstd = {std}")
    with pytest.raises(ToolkitError, match=rf"{recipe.path}: .*dataset\.std"):
        build_components(recipe)


def test_a_normalize_augmentation_step_says_to_write_it_under_dataset(recipe_for):
    recipe = recipe_for(augment='[[augment]]\nname = "Normalize"\nmean = [0.5, 0.4, 0.3]\nstd = [0.2, 0.2, 0.2]')
    with pytest.raises(ToolkitError, match=r"augment\.0\.name = \"Normalize\": normalisation is not an augmentation "
                                           r"step.*under \[dataset\] instead: normalize = true, mean = \[0\.5, 0\.4, 0\.3\]"):
        build_components(recipe)


def test_a_normalize_step_on_a_dataset_without_normalisation_says_its_pixels_reach_the_encoder_as_they_are(
        write_recipe):
    from tests.conftest import QUICK_RECIPE

    recipe = load_recipe(write_recipe(QUICK_RECIPE + '\n[[augment]]\nname = "Normalize"\nmean = [0.5]\nstd = [0.2]\n'))
    with pytest.raises(ToolkitError, match=r"Remove this step; the recipe's dataset takes no normalisation parameters"):
        build_components(recipe)


def test_a_transform_json_whose_mean_does_not_fit_its_channels_is_refused(tmp_path):
    from toolkit.runfolder.files import read_transform

    (tmp_path / "transform.json").write_text(json.dumps({"channels": 3, "height": 8, "width": 8, "mean": [0.5, 0.5],
                                                         "std": 0.2}))
    with pytest.raises(ToolkitError, match="transform.json.*mean has 2 values for 3 channel"):
        read_transform(tmp_path)


def test_a_timm_model_from_weights_path_brings_the_normalisation_of_its_timm_configuration(tmp_path):
    timm = pytest.importorskip("timm")
    from toolkit_plugins.encoders.timm_backbone import TimmBackbone

    path = tmp_path / "resnet18.pth"
    torch.save(timm.create_model("resnet18", num_classes=0).state_dict(), path)
    preprocessing = TimmBackbone(model="resnet18", weights_path=str(path)).preprocessing
    assert (preprocessing.mean, preprocessing.std, preprocessing.size) == (IMAGENET_MEAN, IMAGENET_STD, (224, 224))


@pytest.mark.slow
def test_an_image_file_embeds_through_the_loaded_run_exactly_as_evaluation_embedded_it(recipe_for, resnet18_file,
                                                                                        rgb_folder, tmp_path, monkeypatch):
    evaluated = {}

    def keep_test_embeddings(evaluators, context):
        evaluated["input"] = context.dataset.split("test").batch(torch.tensor([0]))
        evaluated["test"] = context.embed("test")[0]
        return run_evaluators(evaluators, context)

    run_evaluators = runner.run_evaluators
    monkeypatch.setattr(runner, "run_evaluators", keep_test_embeddings)
    recipe = recipe_for(encoder_extra=f'weights_path = "{resnet18_file}"', augment='[[augment]]\nname = "RandomHorizontalFlip"')
    run = runner.run(recipe.path, output=str(tmp_path / "run"), progress=False).run_dir

    stored = json.loads((run / "transform.json").read_text())
    assert (stored["height"], stored["mean"], stored["std"]) == (16, list(IMAGENET_MEAN), list(IMAGENET_STD))
    first_test_image = rgb_folder / "testing" / "p0" / "0.png"
    result = CliRunner().invoke(main, ["embed", str(run), "--images", str(first_test_image), "-o", str(tmp_path / "v.npy"),
                                       "-q"])
    assert result.exit_code == 0, result.output
    model = load_run(run)
    read, _ = model.transform.read([first_test_image])
    assert torch.equal(model.transform.image_set(read).batch(torch.tensor([0])), evaluated["input"])
    assert np.array_equal(np.load(tmp_path / "v.npy")[0], evaluated["test"][0].numpy())
    assert np.array_equal(toolkit.load_run(run).embed(first_test_image)[0], evaluated["test"][0].numpy())
    monkeypatch.setenv("TOOLKIT_DATA", str(rgb_folder.parent))  # the loaded run may read its dataset from there
    assert model.split("test").mean == IMAGENET_MEAN  # `toolkit evaluate` and `search --dataset` too


@pytest.mark.slow
def test_a_finished_run_loads_without_the_weights_file_it_started_from(recipe_for, resnet18_file, rgb_folder, tmp_path):
    recipe = recipe_for(encoder_extra=f'weights_path = "{resnet18_file}"')
    run = runner.run(recipe.path, output=str(tmp_path / "run"), progress=False).run_dir
    image = rgb_folder / "testing" / "p0" / "0.png"
    before = toolkit.load_run(run).embed(image)
    resnet18_file.unlink()  # encoder.pt holds the trained weights; the starting ones are not read again
    assert np.array_equal(toolkit.load_run(run).embed(image), before)
