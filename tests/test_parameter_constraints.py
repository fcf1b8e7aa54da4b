"""Range constraints written on a factory's signature (``Annotated[int, Field(ge=1)]``) reach every place that
reads the signature: the recipe check, `toolkit list` and `toolkit schema`."""

from __future__ import annotations

import json
from typing import Annotated

from click.testing import CliRunner
from pydantic import Field

from tests.conftest import QUICK_RECIPE
from toolkit.cli.main import main
from toolkit.components.params import type_text


def test_a_value_out_of_range_in_a_recipe_names_the_section_the_key_and_the_bound(write_recipe):
    result = CliRunner().invoke(main, ["run", str(write_recipe(QUICK_RECIPE)), "--set", "sampler.batch_size=0"])
    assert result.exit_code == 2
    assert "[sampler] 'pairs' has bad parameters. sampler.batch_size: Input should be greater than or equal to 1; got 0" \
        in result.output
    assert "Traceback" not in result.output


def test_toolkit_list_shows_the_bounds_of_a_parameter():
    result = CliRunner().invoke(main, ["list", "samplers"])
    assert "batch_size: int (>= 1) = 128" in result.output
    assert "positive_fraction: float (>= 0, <= 1) = 0.5" in result.output


def test_toolkit_schema_carries_the_bounds_to_editors():
    schema = json.loads(CliRunner().invoke(main, ["schema"]).output)
    pairs = next(branch["then"] for branch in schema["properties"]["sampler"]["allOf"]
                 if branch["if"]["properties"]["name"]["const"] == "pairs")
    assert pairs["properties"]["batch_size"]["minimum"] == 1
    assert pairs["properties"]["positive_fraction"]["maximum"] == 1


def test_nested_and_optional_constraints_are_written_for_people():
    size = Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=2)] | None
    assert type_text(size) == "list[int (>= 1)] (length >= 2, length <= 2) | None"
