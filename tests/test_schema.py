"""`toolkit schema` describes the recipe format; every shipped recipe fits it and mistakes do not."""

from __future__ import annotations

import copy
import json
import tomllib

import jsonschema
import pytest
from click.testing import CliRunner

from tests.conftest import REPO
from toolkit.cli.main import main
from toolkit.recipes.schema import recipe_schema

SHIPPED = sorted((REPO / "recipes").glob("*.toml"))


@pytest.fixture(scope="module")
def validator():
    schema = recipe_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator, recipe: dict) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(recipe)]


def test_the_command_prints_the_schema_as_json():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "contrastive" in schema["properties"]["loss"]["properties"]["name"]["enum"]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_recipe_fits_the_schema(validator, path):
    assert _errors(validator, tomllib.loads(path.read_text())) == []


def test_component_names_are_the_registered_ones(validator):
    encoders = validator.schema["properties"]["encoder"]["properties"]["name"]["enum"]
    assert {"mlp", "small_cnn"} <= set(encoders)


def test_a_parameter_carries_its_type_default_and_description(validator):
    branch = next(b for b in validator.schema["properties"]["loss"]["allOf"] if b["if"]["properties"]["name"]["const"] == "contrastive")
    margin = branch["then"]["properties"]["margin"]
    assert margin["type"] == "number" and margin["default"] == 1.0
    assert "different-class pairs" in margin["description"]


@pytest.mark.parametrize("section, key, value, complaint", [
    ("encoder", "name", "mlpp", "'mlpp' is not one of"),
    ("loss", "margn", 1.0, "'margn' was unexpected"),
    ("loss", "margin", "wide", "'wide' is not of type 'number'"),
    ("encoder", "hidden", [128, "x"], "'x' is not of type 'integer'"),
    ("optimizer", "name", "Adamm", "'Adamm' is not one of"),
    ("optimizer", "momentum", 0.9, "'momentum' was unexpected"),  # Adam has no momentum
    ("run", "epochs", 0, "0 is less than the minimum of 1"),
    ("loss", "optimizer", {"name": "SGD", "lrr": 0.1}, "'lrr' was unexpected"),
    ("dataset", "limit", "all", "'all' is not of type 'integer'"),
])
def test_a_bad_recipe_fails_validation_at_the_bad_key(validator, section, key, value, complaint):
    recipe = copy.deepcopy(tomllib.loads((REPO / "recipes" / "quickstart.toml").read_text()))
    recipe[section][key] = value
    errors = _errors(validator, recipe)
    assert any(complaint in e for e in errors), errors


def test_a_scheduler_is_checked_against_its_torch_class(validator):
    recipe = tomllib.loads((REPO / "recipes" / "quickstart.toml").read_text())
    recipe["scheduler"] = {"name": "StepLR", "step_size": 5, "gamma": 0.5}
    assert _errors(validator, recipe) == []
    recipe["scheduler"]["step_size"] = "five"
    assert any("'five' is not of type 'integer'" in e for e in _errors(validator, recipe))


def test_a_recipe_without_a_required_section_or_with_an_unknown_one_fails(validator):
    recipe = tomllib.loads((REPO / "recipes" / "quickstart.toml").read_text())
    del recipe["sampler"]
    recipe["evaluator"] = {"name": "knn"}
    errors = _errors(validator, recipe)
    assert any("'sampler' is a required property" in e for e in errors)
    assert any("'evaluator' was unexpected" in e for e in errors)


def test_run_keys_carry_the_docstrings_written_under_them(validator):
    run = validator.schema["properties"]["run"]["properties"]
    assert "same seed gives the same CPU run" in run["seed"]["description"]
    assert run["epochs"]["minimum"] == 1 and run["epochs"]["default"] == 10
