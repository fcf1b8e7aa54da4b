"""What a plugin author reads and copies names only toolkit.api: the guide, the example package, the hooks."""

from __future__ import annotations

import inspect
import re

import pytest

from tests.conftest import REPO
from toolkit.components import hookspecs

EXAMPLE = REPO / "examples" / "toolkit-plugin-example"
PAGE = REPO / "docs" / "writing-a-plugin.md"
TOOLKIT_IMPORT = re.compile(r"^\s*(?:from|import) (toolkit(?:\.\w+)*)\b(?![\w-])", re.MULTILINE)


def test_the_example_and_its_tests_import_nothing_of_toolkit_but_toolkit_api():
    imported = {name for path in EXAMPLE.rglob("*.py") for name in TOOLKIT_IMPORT.findall(path.read_text())}
    assert imported == {"toolkit.api"}


def test_the_example_registers_one_component_of_every_kind():
    hooks = set(re.findall(r"^def (register_\w+)\(", (EXAMPLE / "src" / "toolkit_plugin_example" / "__init__.py").read_text(),
                           re.MULTILINE))
    assert hooks == set(hookspecs.HOOKS.values())


def test_the_guide_names_no_toolkit_module_but_toolkit_api():
    named = set(re.findall(r"`@?(toolkit(?:\.\w+)+)", PAGE.read_text()))
    outside = {name for name in named if not name.startswith("toolkit.api")}
    assert outside == set()


def test_the_guide_says_at_the_top_that_its_code_is_included_by_snippet_lines():
    top = PAGE.read_text().split("## ", 1)[0]
    assert "snippet" in top and "--8<--" in top


@pytest.mark.parametrize("hook", list(hookspecs.HOOKS.values()))
def test_every_hook_says_when_it_is_called_and_what_it_returns(hook):
    doc = " ".join(inspect.getdoc(getattr(hookspecs, hook)).split())
    assert "Called once per process" in doc and "return value is ignored" in doc
