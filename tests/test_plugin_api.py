"""The plugin API is one fenced module: built-ins import nothing else, and old paths still work for a while."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

import toolkit.api

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_SOURCES = sorted((ROOT / "plugins").rglob("*.py")) + sorted(
    (ROOT / "examples" / "toolkit-plugin-example" / "src").rglob("*.py"))


def toolkit_imports(path: Path) -> list[str]:
    """Every module under ``toolkit`` that a source file imports, at any depth of the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [m for m in modules if m == "toolkit" or m.startswith("toolkit.")]
    return found


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugin_imports_only_the_api(path):
    assert set(toolkit_imports(path)) <= {"toolkit.api"}


def test_every_name_in_all_resolves():
    missing = [name for name in toolkit.api.__all__ if getattr(toolkit.api, name, None) is None]
    assert missing == []


def test_api_version_is_semver():
    major, minor, patch = (int(part) for part in toolkit.api.API_VERSION.split("."))
    assert (major, minor, patch) >= (1, 0, 0)


@pytest.mark.parametrize("old, new", [("toolkit.data", "toolkit.imagedata.datasets"),
                                      ("toolkit.rundir", "toolkit.runfolder.rundir"),
                                      ("toolkit.hookspecs", "toolkit.components.hookspecs")])
def test_old_module_path_warns_and_gives_the_moved_module(old, new):
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match="import from toolkit.api"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


def test_old_top_level_name_warns_and_gives_the_api_object():
    import toolkit

    with pytest.warns(DeprecationWarning, match=r"toolkit\.hookimpl is deprecated"):
        hookimpl = toolkit.hookimpl
    assert hookimpl is toolkit.api.hookimpl


def test_the_api_itself_imports_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        importlib.reload(toolkit.api)
