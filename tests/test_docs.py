"""The documentation site builds strictly, its generated pages cover the live code, and what the hand-written
pages show is real. (.ci/run builds the site strictly too.)
"""

from __future__ import annotations

import copy
import importlib.util
import os
import subprocess
import sys
import inspect
import re
import tomllib

import click
import jsonschema
import pytest

from tests.conftest import REPO
from toolkit.components import hookspecs
from toolkit.cli.main import main
from toolkit.components.registry import KINDS, default_registry
from toolkit.recipes.schema import recipe_schema

DOCS = REPO / "docs"
SNIPPET = re.compile(r'^\s*--8<-- "([^"]+)"\s*$', re.MULTILINE)


@pytest.fixture(scope="module")
def hooks():
    """tools/mkdocs_hooks.py, the module mkdocs.yml lists under ``hooks:``."""
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", REPO / "tools" / "mkdocs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pages(hooks):
    return hooks.generated_pages(DOCS)


@pytest.mark.slow
def test_the_site_builds_strictly_with_every_page(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
                            cwd=REPO, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr
    pages = ["", "getting-started", "recipe-format", "concepts", "writing-a-plugin", "reliability", "recipes",
             "reference/components", "reference/cli", "reference/hooks", "reference/api",
             *(f"recipes/{p.stem}" for p in (REPO / "recipes").glob("*.toml"))]
    missing = [page for page in pages if not (site / page / "index.html").is_file()]
    assert missing == []
    components = (site / "reference" / "components" / "index.html").read_text()
    assert all(f'id="{anchor}"' in components for anchor in ("loss-contrastive", "encoder-small-cnn", "evaluator-knn"))


def _hook_specifications() -> list[str]:
    """Every function of toolkit.components.hookspecs marked as a hook specification (not only those in HOOKS)."""
    return [name for name, obj in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(obj, "toolkit_spec")]


def test_every_hook_specification_has_a_section_on_the_writing_a_plugin_page():
    page = (DOCS / "writing-a-plugin.md").read_text()
    headings = set(re.findall(r"^### `(register_\w+)`$", page, re.MULTILINE))
    specs = set(_hook_specifications())
    assert specs, "no hook specifications found"
    assert specs - headings == set(), "hooks without a documentation section"
    assert headings - specs == set(), "sections for hooks that do not exist"


def test_the_hook_reference_shows_every_hook_with_its_docstring(pages):
    for name in _hook_specifications():
        assert f"## `{name}` {{#{name}}}" in pages["reference/hooks.md"]
        first_line = inspect.getdoc(getattr(hookspecs, name)).splitlines()[0]
        assert first_line in pages["reference/hooks.md"]


def test_the_component_reference_lists_every_registered_component_and_parameter(hooks, pages):
    page = pages["reference/components.md"]
    registry = default_registry()
    listed = 0
    for kind in KINDS:
        for component in registry.components(kind):
            assert f"### `{component.name}` {{#{hooks.anchor(kind, component.name)}}}" in page
            section = page.split(f"{{#{hooks.anchor(kind, component.name)}}}")[1].split("\n### ")[0]
            for parameter in component.parameters:
                if parameter.name != "miner":
                    assert f"| `{parameter.name}` |" in section, (component.name, parameter.name)
            listed += 1
    assert listed >= 12  # the built-in components: 3 datasets, 2 encoders, 2 losses, 3 samplers, 3 evaluators


def _commands(group: click.Group, prefix: str = "toolkit"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def test_the_cli_reference_lists_every_command_and_option(pages):
    page = pages["reference/cli.md"]
    commands = list(_commands(main))
    assert {"toolkit run", "toolkit validate", "toolkit schema", "toolkit new-plugin"} <= {c for c, _ in commands}
    for full, command in commands:
        heading = f"## `{full}`"
        assert heading in page, full
        section = page.split(heading, 1)[1].split("\n## ")[0]
        for option in command.params:
            if isinstance(option, click.Option):
                assert f"`{option.opts[0]}`" in section, (full, option.opts)


def test_every_shipped_recipe_has_a_page_with_its_description_and_whole_text(hooks, pages):
    recipes = sorted((REPO / "recipes").glob("*.toml"))
    assert recipes
    for path in recipes:
        page = pages[f"recipes/{path.stem}.md"]
        text = path.read_text()
        assert page.startswith(f"# {hooks.recipe_title(text, path.stem)}\n")
        assert text.rstrip("\n") in page
        assert f"[`{path.name}`]({path.stem}.md)" in pages["recipes/index.md"]


def test_the_navigation_gets_one_entry_per_recipe(hooks):
    from mkdocs.utils.yaml import yaml_load

    config = yaml_load((REPO / "mkdocs.yml").read_text())  # mkdocs's loader: it knows the !ENV tag
    config["docs_dir"] = str(DOCS)
    nav = hooks.on_config(config)["nav"]
    text = repr(nav)
    for path in (REPO / "recipes").glob("*.toml"):
        assert f"'recipes/{path.stem}.md'" in text
    assert "'reliability.md'" in text


def test_a_results_fragment_is_included_in_its_recipe_page(hooks, tmp_path):
    fragment = tmp_path / "quickstart.md"
    fragment.write_text("| metric | value |\n| --- | --- |\n| knn.precision_at_1 | 0.97 |\n")
    page = hooks.recipe_page(REPO / "recipes" / "quickstart.toml", default_registry(), fragment)
    assert "## Measured results" in page and "| knn.precision_at_1 | 0.97 |" in page
    assert "## Measured results" not in hooks.recipe_page(REPO / "recipes" / "quickstart.toml", default_registry(), None)


def test_the_getting_started_page_shows_the_readme_commands(hooks):
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"```bash\n(.+?)\n```", readme)[:2]
    assert "<!-- generated: readme-commands -->" in (DOCS / "getting-started.md").read_text()
    assert all(f"```bash\n{c}\n```" in hooks.readme_commands() for c in commands)


def test_every_included_snippet_is_a_file_the_tests_run_or_validate():
    tested = [REPO / "recipes", REPO / "examples" / "toolkit-plugin-example"]
    included = [path for page in DOCS.glob("**/*.md") for path in SNIPPET.findall(page.read_text())]
    assert included
    for relative in included:
        path = REPO / relative
        assert path.is_file(), relative
        assert any(folder in path.parents for folder in tested), f"{relative} is not run or validated by a test"


def _merge(base: dict, block: dict) -> dict:
    """``block`` laid over ``base``: a table with its own ``name`` replaces the base's, others merge."""
    result = copy.deepcopy(base)
    for key, value in block.items():
        if isinstance(value, dict) and "name" not in value and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def test_every_toml_example_written_in_the_pages_fits_the_recipe_schema():
    validator = jsonschema.Draft202012Validator(recipe_schema())
    base = tomllib.loads((REPO / "recipes" / "quickstart.toml").read_text())
    checked = 0
    for page in DOCS.glob("*.md"):
        for block in re.findall(r"```toml\n(.*?)```", page.read_text(), re.DOTALL):
            if "--8<--" in block or block.lstrip().startswith("[[rule]]"):  # included files are tested; taplo config
                continue
            recipe = _merge(base, tomllib.loads(re.sub(r"^\s{4}", "", block, flags=re.MULTILINE)))
            errors = [e.message for e in validator.iter_errors(recipe)]
            assert errors == [], f"{page.name}: {block}"
            checked += 1
    assert checked >= 3
