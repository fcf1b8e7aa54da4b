"""A third-party plugin package, pip-installed into this environment, is discovered like the built-ins."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PLUGIN_MODULE = '''
import torch
from toolkit.api import hookimpl
from toolkit.api import Loss
from toolkit.imagedata.datasets import Dataset, ImageSet


def stripes(*, size: int = 200):
    """Two classes of 4x4 images: horizontal or vertical stripes, with noise."""
    def load(seed):
        g = torch.Generator().manual_seed(seed)
        labels = torch.arange(size) % 2
        base = torch.zeros(size, 1, 4, 4)
        base[labels == 0, :, ::2, :] = 1.0
        base[labels == 1, :, :, ::2] = 1.0
        images = ((base + 0.2 * torch.rand(size, 1, 4, 4, generator=g)).clamp(0, 1) * 255).to(torch.uint8)
        return ImageSet(images, labels)
    return Dataset("stripes", {"train": lambda: load(0), "test": lambda: load(1)})


class SquaredGapLoss(Loss):
    """Contrastive loss without a margin square root: same → D², different → max(1 − D², 0)."""
    batch_kind = "pairs"

    def forward(self, batch):
        d2 = (batch.embeddings[:, 0] - batch.embeddings[:, 1]).pow(2).sum(1)
        same = batch.same.float()
        return (same * d2 + (1 - same) * torch.relu(1 - d2)).mean()


@hookimpl
def register_datasets(register):
    register("stripes", stripes)


@hookimpl
def register_losses(register):
    register("squared_gap", SquaredGapLoss)
'''

RECIPE = '''
[run]
epochs = 2

[dataset]
name = "stripes"

[sampler]
name = "pairs"
batch_size = 32

[encoder]
name = "mlp"
in_features = 16
hidden = [16]
embedding_dim = 4

[loss]
name = "squared_gap"

[[evaluators]]
name = "knn"
k = [1]
'''


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)


@pytest.fixture
def installed_plugin(tmp_path):
    package = tmp_path / "toolkit-stripes"
    (package / "toolkit_stripes").mkdir(parents=True)
    (package / "toolkit_stripes" / "__init__.py").write_text(PLUGIN_MODULE)
    (package / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "toolkit-stripes"
        version = "0.3.0"

        [project.entry-points.toolkit]
        stripes = "toolkit_stripes"
    '''))
    result = _pip("install", "--no-deps", "--no-build-isolation", "--no-index", "-q", str(package))
    assert result.returncode == 0, result.stderr
    yield package
    _pip("uninstall", "-y", "-q", "toolkit-stripes")


def _toolkit(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_installed_plugin_is_listed_with_its_version_and_components(installed_plugin):
    result = _toolkit("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugin = next(p for p in json.loads(result.stdout) if p["distribution"] == "toolkit-stripes")
    assert plugin["version"] == "0.3.0"
    assert plugin["components"] == {"datasets": ["stripes"], "losses": ["squared_gap"]}


@pytest.mark.slow
def test_a_recipe_can_use_the_installed_plugins_dataset_and_loss(installed_plugin, tmp_path):
    recipe = tmp_path / "stripes.toml"
    recipe.write_text(RECIPE)
    result = _toolkit("run", str(recipe), "-q", "-o", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert "knn.precision_at_1" in result.stdout


@pytest.mark.slow
def test_allowlist_can_leave_the_installed_plugin_out(installed_plugin, monkeypatch):
    import os

    env = {**os.environ, "TOOLKIT_LOAD_PLUGINS": ""}
    result = _toolkit("plugins", "--json", env=env)
    assert "toolkit-stripes" not in result.stdout
