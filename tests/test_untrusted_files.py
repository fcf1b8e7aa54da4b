"""Opening a file never runs code: checkpoints load without pickle's code paths, recipes name only registered things."""

from __future__ import annotations

import ast
import importlib
import os
from pathlib import Path

import pytest
import torch

from tests.conftest import QUICK_RECIPE, REPO
from toolkit.api import ToolkitError
from toolkit.training import checkpoint
from toolkit.recipes.build import build_components
from toolkit.recipes.recipe import load_recipe


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused_and_the_code_does_not_run(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "checkpoint.pt"
    torch.save({"encoder": {"w": torch.zeros(2)}, "epoch": 1, "extra": _RunsCode(marker)}, path)
    with pytest.raises(ToolkitError, match="Refusing to load .*call posix.system .*would run code"):
        checkpoint.load(path)
    assert not marker.exists()


def test_a_checkpoint_of_tensors_and_plain_data_loads(tmp_path):
    path = tmp_path / "checkpoint.pt"
    checkpoint.save(path, {"encoder": {"w": torch.arange(3.0)}, "epoch": 2, "history": [{"loss": 0.5}]})
    state = checkpoint.load(path)
    assert state["epoch"] == 2 and torch.equal(state["encoder"]["w"], torch.arange(3.0))


@pytest.mark.parametrize("section, name", [("encoder", "torch.nn.Linear"), ("loss", "os:system"),
                                           ("dataset", "subprocess.run"), ("optimizer", "builtins.eval")])
def test_a_python_path_in_a_recipe_is_an_unknown_name_and_is_never_imported(write_recipe, monkeypatch, section, name):
    imported = []
    real_import_module = importlib.import_module
    monkeypatch.setattr(importlib, "import_module", lambda mod, *a: imported.append(mod) or real_import_module(mod, *a))
    recipe = load_recipe(write_recipe(QUICK_RECIPE), [f'{section}.name="{name}"'])
    with pytest.raises(ToolkitError, match="unknown"):
        build_components(recipe)
    assert not [m for m in imported if m in name or name.startswith(m)]


def _torch_load_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text())
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "load" and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"]


def test_every_torch_load_in_the_toolkit_and_its_plugins_uses_weights_only():
    sources = sorted((REPO / "toolkit").rglob("*.py")) + sorted((REPO / "plugins").rglob("*.py"))
    unsafe = []
    for source in sources:
        for call in _torch_load_calls(source):
            weights_only = {k.arg: k.value for k in call.keywords}.get("weights_only")
            if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                unsafe.append(f"{source.relative_to(REPO)}:{call.lineno}")
    assert not unsafe, f"torch.load without weights_only=True: {unsafe}"
