"""The pytorch-metric-learning bridge: PML losses and miners by name, checked like the built-in components."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from tests.conftest import QUICK_RECIPE
from toolkit.api import ToolkitError
from toolkit.api import EmbeddedBatch
from toolkit.recipes.build import build_components
from toolkit.cli.main import main
from toolkit.recipes.recipe import parse_recipe
from toolkit.components.registry import default_registry
from toolkit.training.runner import run

PML_RECIPE = QUICK_RECIPE.replace(
    'name = "pairs"\nbatch_size = 64', 'name = "class_balanced"\nclasses_per_batch = 8\nimages_per_class = 8'
).replace(
    'name = "contrastive"\nmargin = 1.0',
    'name = "pml.MultiSimilarityLoss"\ndistance = "CosineSimilarity"\n\n[miner]\nname = "pml.MultiSimilarityMiner"\nepsilon = 0.1',
).replace("hidden = [32]", "hidden = [64]")


def _build(text: str, tmp_path):
    path = tmp_path / "recipe.toml"
    path.write_text(text)
    return build_components(parse_recipe(text, path))


def _message(text: str, tmp_path) -> str:
    with pytest.raises(ToolkitError) as info:
        _build(text, tmp_path)
    return str(info.value)


@pytest.mark.slow
def test_a_pml_loss_and_miner_train_in_a_short_real_run(write_recipe, tmp_path):
    result = run(write_recipe(PML_RECIPE), output=str(tmp_path / "out"), progress=False,
                 overrides=("run.epochs=3",))
    losses = [e["loss"] for e in result.metrics["epochs"]]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]
    assert result.metrics["evaluation"]["knn"]["precision_at_1"] > 0.8  # chance is 0.1
    saved = (tmp_path / "out" / "recipe.toml").read_text()
    assert 'name = "pml.MultiSimilarityMiner"' in saved


def test_the_miner_reaches_the_pml_loss(tmp_path):
    components = _build(PML_RECIPE, tmp_path)
    assert type(components.loss.miner).__name__ == "MultiSimilarityMiner"
    assert components.loss.miner.epsilon == 0.1
    assert type(components.loss.loss.distance).__name__ == "CosineSimilarity"


def test_a_misspelt_pml_parameter_names_the_key_and_the_close_name(tmp_path):
    message = _message(PML_RECIPE.replace('distance = "CosineSimilarity"', "bata = 40.0"), tmp_path)
    assert "[loss] 'pml.MultiSimilarityLoss'" in message and "loss.bata: unknown parameter" in message
    assert "Did you mean 'beta'" in message and str(tmp_path / "recipe.toml") in message


def test_a_pml_parameter_of_the_wrong_type_is_refused_before_training(tmp_path):
    message = _message(PML_RECIPE.replace("epsilon = 0.1", 'epsilon = "small"'), tmp_path)
    assert "[miner] 'pml.MultiSimilarityMiner'" in message and "miner.epsilon" in message and "'small'" in message


def test_an_unknown_pml_distance_suggests_close_names(tmp_path):
    message = _message(PML_RECIPE.replace('"CosineSimilarity"', '"CosineSimilarty"'), tmp_path)
    assert "loss.distance: unknown PML distance 'CosineSimilarty'" in message
    assert "Did you mean 'CosineSimilarity'" in message and "LpDistance" in message


def test_a_distance_table_gives_its_own_parameters_and_they_are_checked(tmp_path):
    table = '[loss.distance]\nname = "LpDistance"\nnormalize_embeddings = false\npower = 2'
    components = _build(PML_RECIPE.replace('distance = "CosineSimilarity"', "") + "\n" + table + "\n", tmp_path)
    distance = components.loss.loss.distance
    assert type(distance).__name__ == "LpDistance" and distance.power == 2 and not distance.normalize_embeddings
    message = _message(PML_RECIPE.replace('distance = "CosineSimilarity"', "") + "\n" + table.replace("power = 2", "powr = 2"), tmp_path)
    assert "loss.distance.powr: unknown parameter" in message and "Did you mean 'power'" in message


def test_an_unknown_pml_loss_suggests_the_pml_name(tmp_path):
    message = _message(PML_RECIPE.replace("pml.MultiSimilarityLoss", "pml.MultiSimilarity"), tmp_path)
    assert "unknown loss 'pml.MultiSimilarity'" in message and "'pml.MultiSimilarityLoss'" in message


def test_pml_parameters_come_from_every_base_class_and_are_listed():
    result = CliRunner().invoke(main, ["list", "losses", "--json"])
    assert result.exit_code == 0, result.output
    listed = {c["name"]: c for c in json.loads(result.output)["losses"]}
    params = {p["name"]: p for p in listed["pml.MultiSimilarityLoss"]["parameters"]}
    assert {"alpha", "beta", "base", "distance", "reducer", "embedding_regularizer", "miner", "batch"} <= set(params)
    assert "mat_based_loss" not in params  # fixed by the class itself in its super().__init__ call
    arcface = {p["name"]: p for p in listed["pml.ArcFaceLoss"]["parameters"]}
    assert arcface["num_classes"]["required"] and arcface["num_classes"]["type"] == "int"
    assert arcface["margin"]["default"] == "28.6"
    assert "pml.SelfSupervisedLoss" not in listed  # needs reference embeddings, not labels


def test_a_loss_with_its_own_weights_gets_its_own_optimizer(write_recipe, tmp_path):
    text = PML_RECIPE.split("[miner]")[0].replace(
        'name = "pml.MultiSimilarityLoss"\ndistance = "CosineSimilarity"',
        'name = "pml.ArcFaceLoss"\nnum_classes = 10\nembedding_size = 8\n\n[loss.optimizer]\nname = "SGD"\nlr = 0.5',
    ) + '\n[[evaluators]]\nname = "knn"\n'
    components = _build(text, tmp_path)
    before = components.loss.loss.W.detach().clone()
    result = run(write_recipe(text), output=str(tmp_path / "out"), progress=False, overrides=("run.epochs=1",))
    saved = torch.load(tmp_path / "out" / "checkpoint.pt", weights_only=True)
    assert len(saved["optimizers"]) == 2 and saved["optimizers"][1]["param_groups"][0]["lr"] == 0.5
    assert not torch.equal(saved["loss"]["loss.W"], before)
    assert result.metrics["evaluation"]["knn"]["precision_at_1"] > 0.5


def _filled(name: str) -> dict:
    """The required parameters of a PML loss, for a batch of 8-dimensional embeddings of 4 classes."""
    values = {"num_classes": 4, "embedding_size": 8, "descriptors_dim": 8, "l": 8, "margin": 0.4, "Tn": 1.0,
              "loss": "ContrastiveLoss"}
    component = default_registry().get("losses", name)
    return {p.name: values[p.name] for p in component.parameters if p.required}


PML_LOSSES = [n for n in default_registry().names("losses") if n.startswith("pml.")]
PML_MINERS = [n for n in default_registry().names("miners") if n.startswith("pml.")]


@pytest.mark.parametrize("name", PML_LOSSES)
def test_every_registered_pml_loss_builds_and_gives_a_finite_loss_with_gradients(name):
    torch.manual_seed(0)
    loss = default_registry().get("losses", name).factory(**_filled(name))
    embeddings = torch.nn.functional.normalize(torch.randn(16, 1, 8), dim=2).requires_grad_()
    labels = torch.arange(4).repeat_interleave(4).unsqueeze(1)
    value = loss(EmbeddedBatch("labels", embeddings, labels))
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    assert embeddings.grad is not None


@pytest.mark.parametrize("name", PML_MINERS)
def test_every_registered_pml_miner_feeds_a_pml_loss(name):
    torch.manual_seed(0)
    miner = default_registry().get("miners", name).factory()
    loss = default_registry().get("losses", "pml.TripletMarginLoss").factory(miner=miner, margin=0.5)
    embeddings = torch.nn.functional.normalize(torch.randn(32, 1, 8), dim=2)
    labels = torch.arange(4).repeat_interleave(8).unsqueeze(1)
    assert torch.isfinite(loss(EmbeddedBatch("labels", embeddings, labels)))


def test_a_miner_with_pair_batches_is_refused(tmp_path):
    text = QUICK_RECIPE.replace('name = "contrastive"\nmargin = 1.0',
                                'name = "pml.ContrastiveLoss"\nbatch = "pairs"\n\n[miner]\nname = "pml.PairMarginMiner"')
    message = _message(text, tmp_path)
    assert "[loss] 'pml.ContrastiveLoss' rejected its parameters" in message and "batch = \"labels\"" in message


def test_a_loss_built_for_fewer_classes_than_the_data_has_says_how_many():
    loss = default_registry().get("losses", "pml.ArcFaceLoss").factory(num_classes=4, embedding_size=8)
    batch = EmbeddedBatch("labels", torch.randn(6, 1, 8), torch.tensor([[0], [1], [2], [3], [4], [5]]))
    with pytest.raises(ToolkitError, match=r"loss.num_classes = 4, but the training labels go up to 5.*6 or more"):
        loss(batch)
