"""A third-party plugin package, pip-installed into a folder of its own, is discovered like the built-ins.

Packages are installed with ``pip install --target`` into a temporary folder that the ``toolkit`` subprocesses see
through ``PYTHONPATH``; the environment running the tests is never changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PLUGIN_MODULE = '''
import torch
from toolkit.api import hookimpl
from toolkit.api import Loss
from toolkit.api import Dataset, ImageSet


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


def install_into(site: Path, package: Path) -> dict[str, str]:
    """``pip install`` ``package`` into the folder ``site``; returns an environment in which it is installed."""
    result = _pip("install", "--no-deps", "--no-build-isolation", "--no-index", "-q", "--target", str(site), str(package))
    assert result.returncode == 0, result.stderr
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)


def _toolkit(*args: str, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, env=env, cwd=cwd)


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
    return install_into(tmp_path / "site", package)


def test_the_plugin_is_installed_outside_the_environment_running_the_tests(installed_plugin):
    from importlib import metadata

    assert "toolkit-stripes" not in {d.metadata["Name"] for d in metadata.distributions()}


@pytest.mark.slow
def test_installed_plugin_is_listed_with_its_version_and_components(installed_plugin):
    result = _toolkit("plugins", "--json", env=installed_plugin)
    assert result.returncode == 0, result.stderr
    plugin = next(p for p in json.loads(result.stdout)["plugins"] if p["distribution"] == "toolkit-stripes")
    assert plugin["version"] == "0.3.0"
    assert plugin["components"] == {"datasets": ["stripes"], "losses": ["squared_gap"]}


@pytest.mark.slow
def test_a_recipe_can_use_the_installed_plugins_dataset_and_loss(installed_plugin, tmp_path):
    recipe = tmp_path / "stripes.toml"
    recipe.write_text(RECIPE)
    result = _toolkit("run", str(recipe), "-q", "-o", str(tmp_path / "run"), env=installed_plugin)
    assert result.returncode == 0, result.stderr
    assert "knn.precision_at_1" in result.stdout


@pytest.mark.slow
def test_allowlist_can_leave_the_installed_plugin_out(installed_plugin):
    listed = _toolkit("plugins", "--json", env=installed_plugin)
    left_out = _toolkit("plugins", "--json", env={**installed_plugin, "TOOLKIT_LOAD_PLUGINS": ""})
    assert "toolkit-stripes" in listed.stdout and "toolkit-stripes" not in left_out.stdout
