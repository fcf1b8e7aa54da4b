"""Bad recipes get one clear paragraph naming the file, the key and what was expected."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.conftest import QUICK_RECIPE
from toolkit.api import ToolkitError
from toolkit.recipes.build import build_components
from toolkit.cli.main import main
from toolkit.recipes.recipe import load_recipe


def _error(path, *overrides) -> str:
    with pytest.raises(ToolkitError) as err:
        build_components(load_recipe(path, overrides))
    return str(err.value)


def test_malformed_toml_names_the_file_and_line(write_recipe):
    path = write_recipe("[run]\nepochs = = 3\n")
    message = _error(path)
    assert str(path) in message and "line 2" in message


def test_empty_recipe_says_what_a_recipe_needs(write_recipe):
    assert "empty" in _error(write_recipe(""))


def test_unknown_section_suggests_the_right_one(write_recipe):
    message = _error(write_recipe(QUICK_RECIPE + "\n[optimiser]\nname = 'SGD'\n"))
    assert "[optimiser]" in message and "[optimizer]" in message


def test_unknown_component_key_suggests_close_names(write_recipe):
    message = _error(write_recipe(QUICK_RECIPE), "loss.margn=2.0")
    assert "loss.margn" in message and "'margin'" in message


def test_unknown_component_name_suggests_close_names(write_recipe):
    message = _error(write_recipe(QUICK_RECIPE), 'loss.name="contrastiv"')
    assert "loss.name" in message and "'contrastive'" in message


def test_wrong_type_names_key_and_expected_type(write_recipe):
    message = _error(write_recipe(QUICK_RECIPE), 'loss.margin="big"')
    assert "loss.margin" in message and "number" in message


def test_integer_is_not_accepted_for_a_string(write_recipe):
    assert "run.device" in _error(write_recipe(QUICK_RECIPE), "run.device=3")


def test_out_of_range_value_names_the_section_the_key_and_the_bound(write_recipe):
    message = _error(write_recipe(QUICK_RECIPE), "loss.margin=-1.0")
    assert "[loss] 'contrastive'" in message and "loss.margin: Input should be greater than 0; got -1.0" in message


def test_negative_epochs_are_refused(write_recipe):
    assert "run.epochs" in _error(write_recipe(QUICK_RECIPE), "run.epochs=-2")


def test_missing_required_parameter_is_named(write_recipe):
    message = _error(write_recipe(QUICK_RECIPE + '\n[scheduler]\nname = "StepLR"\n'))
    assert "scheduler.step_size" in message and "required" in message


def test_unknown_optimizer_suggests_close_names(write_recipe):
    assert "'Adam'" in _error(write_recipe(QUICK_RECIPE), 'optimizer.name="Adma"')


def test_loss_and_sampler_of_different_kinds_are_refused(write_recipe):
    message = _error(write_recipe(QUICK_RECIPE), 'sampler.name="triplets"')
    assert "pairs" in message and "triplets" in message


def test_missing_data_files_say_where_to_put_them(write_recipe, tmp_path, monkeypatch):
    monkeypatch.delenv("TOOLKIT_DATA", raising=False)
    recipe = write_recipe(QUICK_RECIPE.replace('name = "digits"', f'name = "mnist"\ndata_dir = "{tmp_path / "nowhere"}"'))
    message = _error(recipe)
    assert "MNIST" in message and "TOOLKIT_DATA" in message and "raw" in message


def test_evaluators_that_are_not_a_list_are_refused(write_recipe):
    text = QUICK_RECIPE.split("[[evaluators]]")[0] + '\n[evaluators]\nname = "knn"\n'
    assert "[[evaluators]]" in _error(write_recipe(text))


def test_override_sets_a_nested_key(quick_recipe):
    recipe = load_recipe(quick_recipe, ["run.epochs=1", "evaluators.0.k=[1, 3]"])
    assert recipe.run.epochs == 1 and recipe.evaluators[0].params["k"] == [1, 3]


def test_cli_prints_one_paragraph_and_exits_2_without_traceback(write_recipe):
    path = write_recipe("[run\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and str(path) in result.output


@pytest.mark.slow
def test_validate_accepts_every_shipped_recipe(monkeypatch, tmp_path):
    from pathlib import Path

    from tests.conftest import REPO, SHARED_DATA, offline_weights

    if not SHARED_DATA.is_dir():
        pytest.skip(f"shipped recipes read real data; {SHARED_DATA} is absent")
    monkeypatch.setenv("TOOLKIT_DATA", str(SHARED_DATA))
    recipes = sorted(Path(REPO / "recipes").glob("*.toml"))
    assert recipes
    for path in recipes:
        if path.name == "fashion_folder.toml" and not (SHARED_DATA / "fashion_folder").is_dir():
            continue  # its folder is written by benchmarks/make_image_folder.py, not shipped
        sets = [arg for o in offline_weights(path, tmp_path) for arg in ("--set", o)]
        result = CliRunner().invoke(main, ["validate", str(path), *sets])
        assert result.exit_code == 0, result.output
