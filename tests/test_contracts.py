"""The contracts components implement: optional parts declared with their defaults, checked when a recipe is built."""

from __future__ import annotations

import pytest
import torch
from pytorch_metric_learning import miners

from tests.fake_plugins import installed, write_distribution
from toolkit.api import EvalContext, Evaluator, Loss, Miner, ToolkitError
from toolkit.recipes.build import build_components
from toolkit.recipes.recipe import load_recipe


def test_an_evaluator_declares_no_splits_and_ignores_epochs_unless_it_says_otherwise(tmp_path):
    class Counts(Evaluator):
        def evaluate(self, context):
            return {"count": 1.0}

    evaluator = Counts()
    assert tuple(evaluator.splits) == ()
    assert evaluator.on_epoch_end(None, 1) is None


def test_a_loss_trains_none_of_its_parameters_with_the_encoder_by_default():
    class Scaled(Loss):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

    assert Scaled().model_parameters() == []


def test_a_pml_miner_is_a_miner_and_returns_four_index_tensors_for_pairs():
    miner = miners.MultiSimilarityMiner()
    embeddings, labels = torch.randn(12, 4), torch.arange(12) % 3
    mined = miner(embeddings, labels)
    assert isinstance(miner, Miner)
    assert len(mined) == 4 and all(t.dtype == torch.int64 and t.ndim == 1 for t in mined)
    assert bool((labels[mined[0]] == labels[mined[1]]).all()) and bool((labels[mined[2]] != labels[mined[3]]).all())


NOT_AN_EVALUATOR = '''
from toolkit.api import hookimpl


class Duck:
    """Has evaluate() but is not a toolkit.api.Evaluator."""

    def evaluate(self, context):
        return {}


@hookimpl
def register_evaluators(register):
    register("duck", Duck)
'''


def test_an_evaluator_that_does_not_subclass_evaluator_is_reported_as_its_plugins_bug(tmp_path, write_recipe):
    write_distribution(tmp_path / "site", "duck-eval", NOT_AN_EVALUATOR)
    recipe = write_recipe(_with_evaluator("duck"))
    with installed(tmp_path / "site"), pytest.raises(ToolkitError) as error:
        build_components(load_recipe(recipe))
    assert "plugin 'duck-eval.plugin' returned Duck, not a toolkit.api.Evaluator" in str(error.value)


CONSTRUCTOR_BUG = '''
from toolkit.api import Evaluator, hookimpl


class Buggy(Evaluator):
    """Its constructor has a bug of its own."""

    def __init__(self, *, size: int = 3):
        self.table = len(size)

    def evaluate(self, context):
        return {}


@hookimpl
def register_evaluators(register):
    register("buggy", Buggy)
'''


def test_a_type_error_inside_a_plugins_constructor_is_its_bug_with_file_and_line(tmp_path, write_recipe):
    module = write_distribution(tmp_path / "site", "buggy-eval", CONSTRUCTOR_BUG)
    recipe = write_recipe(_with_evaluator("buggy"))
    with installed(tmp_path / "site"), pytest.raises(ToolkitError) as error:
        build_components(load_recipe(recipe))
    message = str(error.value)
    assert f"{tmp_path / 'site' / module}.py:9" in message
    assert "bug in that plugin" in message and "Change the value" not in message


def test_an_unknown_keyword_for_a_plugins_constructor_stays_the_recipes_mistake(tmp_path, write_recipe):
    write_distribution(tmp_path / "site", "buggy-eval", CONSTRUCTOR_BUG)
    recipe = write_recipe(_with_evaluator("buggy", "colour = 2"))
    with installed(tmp_path / "site"), pytest.raises(ToolkitError) as error:
        build_components(load_recipe(recipe))
    assert "evaluators.0.colour: unknown parameter" in str(error.value) and "bug in that plugin" not in str(error.value)


def test_an_artifact_is_stored_relative_to_the_run_folder(tmp_path):
    (tmp_path / "plot.png").write_bytes(b"png")
    context = EvalContext(None, None, None, tmp_path, 0, torch.device("cpu"))
    context.add_artifact("plot", tmp_path / "plot.png")
    assert context.artifacts == {"plot": "plot.png"}


def test_an_artifact_outside_the_run_folder_is_refused(tmp_path):
    (tmp_path / "elsewhere.png").write_bytes(b"png")
    context = EvalContext(None, None, None, tmp_path / "run", 0, torch.device("cpu"))
    with pytest.raises(ValueError, match="inside"):
        context.add_artifact("plot", tmp_path / "elsewhere.png")


def _with_evaluator(name: str, extra: str = "") -> str:
    from tests.conftest import QUICK_RECIPE

    return QUICK_RECIPE.replace('name = "knn"\nk = [1, 5]', f'name = "{name}"\n{extra}')


class _FileName(Evaluator):
    def evaluate(self, context):
        return {"accuracy": 0.5, "plot": "scatter.png"}


def test_an_evaluator_returning_a_file_name_is_refused_naming_its_class_and_file(tmp_path):
    from toolkit.evaluation.evaluate import run_evaluators

    context = EvalContext(None, None, None, tmp_path, 0, torch.device("cpu"))
    with pytest.raises(ToolkitError) as error:
        run_evaluators([("scatter", _FileName())], context)
    message = str(error.value)
    assert f"_FileName, {__file__}:" in message
    assert "'plot' = 'scatter.png'" in message and "context.add_artifact" in message


class _Pictures(Evaluator):
    def evaluate(self, context):
        (context.out_dir / "scatter.png").write_bytes(b"png")
        context.add_artifact("scatter", "scatter.png")
        return {"points": 3}


def test_each_evaluators_artifacts_are_filed_under_its_name_beside_its_numbers(tmp_path):
    from toolkit.evaluation.evaluate import run_evaluators

    context = EvalContext(None, None, None, tmp_path, 0, torch.device("cpu"))
    evaluation = run_evaluators([("pictures", _Pictures()), ("other", _Pictures())], context)
    assert evaluation.as_dict() == {"evaluation": {"pictures": {"points": 3.0}, "other": {"points": 3.0}},
                                    "artifacts": {"pictures": {"scatter": "scatter.png"},
                                                  "other": {"scatter": "scatter.png"}}}
    assert context.artifacts == {}


NAMES_A_FILE = '''
from toolkit.api import Evaluator, hookimpl


class Pictures(Evaluator):
    """Returns a file name among its metrics."""

    def evaluate(self, context):
        return {"plot": "scatter.png"}


@hookimpl
def register_evaluators(register):
    register("pictures", Pictures)
'''


def test_toolkit_run_stops_with_one_paragraph_when_an_evaluator_returns_a_file_name(tmp_path, write_recipe):
    from click.testing import CliRunner

    from toolkit.cli.main import main

    write_distribution(tmp_path / "site", "pictures-eval", NAMES_A_FILE)
    recipe = write_recipe(_with_evaluator("pictures"))
    with installed(tmp_path / "site"):
        result = CliRunner().invoke(main, ["run", str(recipe), "-q", "-o", str(tmp_path / "run"), "--set", "run.epochs=1"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "The evaluator 'pictures' (pictures_eval.Pictures" in result.output
    assert "'plot' = 'scatter.png'" in result.output


NOT_A_MINER = '''
from toolkit.api import hookimpl


def lazy_miner():
    """Forgets to build the miner."""
    return {"pairs": []}


@hookimpl
def register_miners(register):
    register("lazy", lazy_miner)
'''


def test_a_miner_factory_returning_something_uncallable_is_its_plugins_bug(tmp_path, write_recipe):
    from tests.conftest import QUICK_RECIPE

    write_distribution(tmp_path / "site", "lazy-miner", NOT_A_MINER)
    text = QUICK_RECIPE.replace('name = "contrastive"\nmargin = 1.0', 'name = "pml.ContrastiveLoss"\n\n[miner]\nname = "lazy"')
    with installed(tmp_path / "site"), pytest.raises(ToolkitError) as error:
        build_components(load_recipe(write_recipe(text)))
    assert "plugin 'lazy-miner.plugin' returned dict, not a toolkit.api.Miner" in str(error.value)
