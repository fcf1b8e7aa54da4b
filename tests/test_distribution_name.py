"""The package is published as ``metric-toolkit``; it imports as ``toolkit`` and runs as ``toolkit``."""

from __future__ import annotations

import json
import tomllib

from click.testing import CliRunner

from tests.conftest import REPO
from toolkit.cli.main import main as cli
from toolkit.cli.scaffold import PYPROJECT
from toolkit.components.loading import BUILTIN_DISTRIBUTION

NAME = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]


def test_built_ins_are_recognised_by_the_distribution_name():
    assert NAME == BUILTIN_DISTRIBUTION == "metric-toolkit"
    rows = json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)["plugins"]
    builtins = [row for row in rows if row["distribution"] == NAME]
    assert {row["name"] for row in builtins} >= {"datasets", "encoders", "losses"} and all(r["builtin"] for r in builtins)


def test_plugin_template_and_example_depend_on_the_distribution_name():
    example = tomllib.loads((REPO / "examples" / "toolkit-plugin-example" / "pyproject.toml").read_text())
    assert NAME in example["project"]["dependencies"]
    assert f'"{NAME}"' in PYPROJECT


def test_user_facing_install_lines_name_the_distribution():
    texts = [(REPO / "README.md").read_text()] + [p.read_text() for p in (REPO / "docs").glob("*.md")]
    assert not any("'toolkit[" in text or "`toolkit[" in text for text in texts)
    assert f"`{NAME}[onnx]`" in texts[0]


def test_the_cpu_only_install_line_keeps_the_versions_pyproject_allows():
    """Installing CPU wheels newer than the caps would make `pip install -e .` replace them with CUDA ones."""
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    caps = {d.split(">=")[0]: d.split("<=")[1] for d in dependencies if d.startswith(("torch>", "torchvision>"))}
    for page in (REPO / "README.md", REPO / "docs" / "getting-started.md"):
        line = next(l for l in page.read_text().splitlines() if "download.pytorch.org/whl/cpu" in l)
        assert f"'torch<={caps['torch']}'" in line and f"'torchvision<={caps['torchvision']}'" in line, page
