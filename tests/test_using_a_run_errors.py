"""Every command that uses a run folder refuses a bad one with one paragraph, before writing anything."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.conftest import copy_run
from toolkit.cli.main import main

COMMANDS = {
    "embed": lambda run, tmp: ["embed", run, "--dataset", "test", "-o", tmp / "v.npy"],
    "compare": lambda run, tmp: ["compare", run, tmp / "a.png", tmp / "b.png"],
    "index": lambda run, tmp: ["index", run],
    "search": lambda run, tmp: ["search", run, tmp / "a.png", "-o", tmp / "s.png"],
    "export": lambda run, tmp: ["export", run, "-o", tmp / "m.pt"],
}


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_run_folder_is_one_clear_paragraph(command, tmp_path):
    result = invoke(COMMANDS[command](tmp_path / "no-such-run", tmp_path))
    assert result.exit_code == 2 and "There is no run folder" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_folder_that_is_not_a_run_folder_is_named(tmp_path):
    (tmp_path / "photos").mkdir()
    result = invoke(COMMANDS["index"](tmp_path / "photos", tmp_path))
    assert result.exit_code == 2 and "holds no recipe.toml" in result.output


def test_weights_that_do_not_fit_the_recipe_are_refused(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    recipe = run / "recipe.toml"
    recipe.write_text(recipe.read_text().replace("embedding_dim = 8", "embedding_dim = 4"))
    result = invoke(COMMANDS["export"](run, tmp_path))
    assert result.exit_code == 2 and "do not fit the encoder 'mlp'" in result.output
    assert not (tmp_path / "m.pt").exists()


def test_a_gallery_folder_that_does_not_exist_is_named(trained_run, tmp_path):
    result = invoke(["index", trained_run, "--gallery", tmp_path / "gone"])
    assert result.exit_code == 2 and "gallery folder" in result.output and "does not exist" in result.output
