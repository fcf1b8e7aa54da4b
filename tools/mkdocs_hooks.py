"""MkDocs hooks: the reference pages and the recipe pages, generated from the live code at build time.

Listed under ``hooks:`` in ``mkdocs.yml``. Nothing here is written into ``docs/``; the pages exist only
in the build, so they cannot drift from the code:

- ``reference/components.md``: every component of the registry (built-in and installed plugins).
- ``reference/cli.md``: every command and option of the ``toolkit`` click group.
- ``reference/hooks.md``: every hook specification of :mod:`toolkit.components.hookspecs`, from its docstring.
- ``recipes/index.md`` and ``recipes/<name>.md``: one page per ``recipes/*.toml``, its leading comment
  block as the description, the whole file shown. An optional ``docs/results/<name>.md`` is included as
  the page's "Measured results"; an optional ``docs/results.md`` page joins the navigation.

Pages written by hand use two placeholders: ``<!-- generated: readme-commands -->`` (the README's two
commands) and ``<!-- generated: run-settings -->`` (the ``[run]`` keys with types, defaults and docs).
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from toolkit.components.registry import SINGULAR

REPO = Path(__file__).resolve().parent.parent
RECIPES = REPO / "recipes"
RESULTS = "results"
KIND_TITLES = {"datasets": "Datasets", "encoders": "Encoders", "losses": "Losses", "samplers": "Samplers",
               "miners": "Miners", "evaluators": "Evaluators", "augmentations": "Augmentations"}
SECTION_OF_KIND = {"datasets": "dataset", "encoders": "encoder", "losses": "loss", "samplers": "sampler",
                   "miners": "miner", "evaluators": "evaluators", "augmentations": "augment"}
ROLE = re.compile(r":(?:class|meth|func|mod|data|attr|exc|obj):`~?([^`]+)`")


# Text helpers ---------------------------------------------------------------------------------------

def prose(text: str, *, in_table: bool = False) -> str:
    """Plain text (help, docstrings) safe in Markdown: outside code spans, ``<`` is not taken for HTML and,
    in a table, ``|`` does not end the cell (inside code spans the table parser ignores pipes)."""
    def escape(part: str) -> str:
        part = part.replace("<", "&lt;")
        return part.replace("|", "\\|") if in_table else part

    return "".join(part if part.startswith("`") else escape(part) for part in re.split(r"(`+[^`]*`+)", str(text)))


def cell(text: Any, *, code: bool = False) -> str:
    """Text for one Markdown table cell; ``code``: it goes between backticks as it is."""
    text = " ".join(str(text).split())
    return text if code else prose(text, in_table=True)


def plain_roles(text: str) -> str:
    """Sphinx roles (``:class:`x```) as plain code spans."""
    return ROLE.sub(lambda m: f"`{m.group(1)}`", text)


def linked_roles(text: str) -> str:
    """Sphinx roles as links to the names' sections on the plugin API page (a missing anchor fails a strict build);
    names outside ``toolkit.api`` are internal and stay plain code."""
    def link(match: re.Match) -> str:
        name = match.group(1)
        return f"[`{name}`](api.md#{name})" if name.startswith("toolkit.api.") else f"`{name}`"

    return ROLE.sub(link, text)


def docstring_body(doc: str) -> str:
    """A docstring without its summary line and without its ``Args:`` section."""
    lines = inspect.cleandoc(doc).splitlines()[1:]
    out: list[str] = []
    skipping = False
    for line in lines:
        if line.strip() in ("Args:", "Arguments:", "Parameters:"):
            skipping = True
            continue
        if skipping and line and not line[0].isspace():
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out).strip().replace("::\n", ":\n")


def toml_value(value: Any) -> str:
    """A default value as a recipe would write it."""
    if isinstance(value, tuple):
        value = list(value)
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:
        return repr(value)


def anchor(kind: str, name: str) -> str:
    """The id of a component's section on the component reference page."""
    return f"{SINGULAR[kind]}-" + re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


# Component reference --------------------------------------------------------------------------------

def component_reference(registry: Any) -> str:
    """Every registered component, by kind: summary, description, parameters and a recipe snippet."""
    from toolkit.components.registry import KINDS

    plugins = {p.name: p for p in registry.loaded.plugins}
    parts = [
        "# Component reference",
        "",
        "Every dataset, encoder, loss, sampler, miner and evaluator registered in the environment that built this "
        "page: the built-in plugins and any installed third-party plugin. It is generated from the live registry "
        "(the same one `toolkit list` prints), so parameters, types and defaults are exactly what recipes are "
        "checked against. Optimizers and schedulers are the classes of `torch.optim` and "
        "`torch.optim.lr_scheduler` (see [the recipe format](../recipe-format.md#optimizer-and-scheduler)).",
        "",
    ]
    failures = registry.loaded.failures
    if failures:
        parts += ["!!! warning \"Plugins that failed to load\"", ""]
        parts += [f"    - `{p.name}`: {cell(p.error)}" for p in failures]
        parts.append("")
    for kind in KINDS:
        components = registry.components(kind)
        parts += [f"## {KIND_TITLES[kind]}", ""]
        if not components:
            parts += [f"No {kind} are registered. A plugin adds them with the `{_hook_of(kind)}` hook "
                      f"([Writing a plugin](../writing-a-plugin.md#{_hook_of(kind)})).", ""]
            continue
        parts += ["| name | plugin | summary |", "| --- | --- | --- |"]
        parts += [f"| [`{c.name}`](#{anchor(kind, c.name)}) | {cell(_origin(plugins.get(c.plugin), c.plugin))} | "
                  f"{cell(plain_roles(c.summary))} |" for c in components]
        parts.append("")
        for component in components:
            parts += _component_section(kind, component, plugins.get(component.plugin))
    return "\n".join(parts) + "\n"


def _hook_of(kind: str) -> str:
    from toolkit.components.hookspecs import HOOKS

    return HOOKS[kind]


def _origin(info: Any, plugin: str) -> str:
    if info is None:
        return plugin
    return f"{plugin} (built-in)" if info.builtin else f"{plugin} ({info.distribution} {info.version})"


def _component_section(kind: str, component: Any, info: Any) -> list[str]:
    section = SECTION_OF_KIND[kind]
    lines = [f"### `{component.name}` {{#{anchor(kind, component.name)}}}", "",
             f"*{SINGULAR[kind]} from plugin {_origin(info, component.plugin)}*", ""]
    if component.summary:
        lines += [plain_roles(component.summary), ""]
    body = docstring_body(inspect.getdoc(component.factory) or "")
    if body:
        lines += [plain_roles(body), ""]
    params = [p for p in component.parameters if p.name != "miner"]
    if params:
        lines += ["| parameter | type | default | description |", "| --- | --- | --- | --- |"]
        for p in params:
            default = ("*required*" if p.required else "*not set*" if p.default is None
                       else f"`{cell(toml_value(p.default), code=True)}`")
            lines.append(f"| `{p.name}` | `{cell(p.type_name, code=True)}` | {default} | {cell(plain_roles(p.doc))} |")
        lines.append("")
    else:
        lines += ["No parameters.", ""]
    header = "[[evaluators]]" if section == "evaluators" else f"[{section}]"
    example = [header, f'name = "{component.name}"']
    for p in params:
        if p.required:
            example.append(f"{p.name} = ...  # required")
        elif p.default is not None:
            example.append(f"{p.name} = {toml_value(p.default)}")
    lines += ["```toml", *example, "```", ""]
    return lines


# CLI reference --------------------------------------------------------------------------------------

def cli_reference(group: click.Group, prog: str = "toolkit") -> str:
    """Every command of the click group (and of its sub-groups), with usage, help and options."""
    root = click.Context(group, info_name=prog)
    parts = ["# Command-line reference", "",
             f"Generated from the `{prog}` command's own definitions; `{prog} COMMAND --help` prints the same.", "",
             "```text", _usage(group, root), "```", "", _help_text(group), ""]
    parts += _options_table(group, root)
    parts += _commands(group, root, prog, level=2)
    return "\n".join(parts) + "\n"


def _commands(group: click.Group, parent: click.Context, prefix: str, level: int) -> list[str]:
    lines: list[str] = []
    for name in sorted(group.list_commands(parent)):
        command = group.get_command(parent, name)
        if command is None or command.hidden:
            continue
        ctx = click.Context(command, info_name=name, parent=parent)
        full = f"{prefix} {name}"
        slug = re.sub(r"[^a-z0-9]+", "-", full.lower()).strip("-")
        lines += [f"{'#' * level} `{full}` {{#{slug}}}", "", "```text", _usage(command, ctx), "```", "",
                  prose(_help_text(command)), ""]
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        if arguments:
            lines += ["| argument | type | required |", "| --- | --- | --- |"]
            lines += [f"| `{a.human_readable_name}` | {_type_name(a)} | {'yes' if a.required else 'no'} |" for a in arguments]
            lines.append("")
        lines += _options_table(command, ctx)
        if isinstance(command, click.Group):
            lines += _commands(command, ctx, full, level + 1)
    return lines


def _usage(command: click.Command, ctx: click.Context) -> str:
    return f"Usage: {ctx.command_path} {' '.join(command.collect_usage_pieces(ctx))}"


def _help_text(command: click.Command) -> str:
    text = inspect.cleandoc(command.help or "").split("\f")[0]
    return "\n".join(line for line in text.splitlines() if line.strip() != "\b")


def _type_name(param: click.Parameter) -> str:
    """The parameter's type for a table cell: choices are listed with commas, since a pipe would end the cell."""
    if isinstance(param.type, click.Choice):
        return "one of " + ", ".join(f"`{c}`" for c in param.type.choices)
    if isinstance(param, click.Option) and param.is_flag:
        return "flag"
    return f"`{param.type.name}`"


def _default(option: click.Option, ctx: click.Context) -> str:
    """The default as the command applies it; empty when there is none (click marks "none" with a sentinel)."""
    default = option.get_default(ctx, call=False)
    if option.multiple:
        return "repeatable"
    if option.is_flag or default is None or default == () or callable(default) or type(default).__name__ == "Sentinel":
        return ""
    return f"`{cell(default, code=True)}`"


def _options_table(command: click.Command, ctx: click.Context) -> list[str]:
    options = [p for p in command.get_params(ctx) if isinstance(p, click.Option) and not p.hidden]
    if not options:
        return []
    lines = ["| option | type | default | description |", "| --- | --- | --- | --- |"]
    for option in options:
        names = ", ".join(f"`{o}`" for o in [*option.opts, *option.secondary_opts])
        if option.metavar and not option.is_flag:
            names += f" `{option.metavar}`"
        lines.append(f"| {names} | {_type_name(option)} | {_default(option, ctx)} | {cell(option.help or '')} |")
    lines.append("")
    return lines


# Hook reference -------------------------------------------------------------------------------------

def hook_reference() -> str:
    """The hook specifications, from :mod:`toolkit.components.hookspecs` docstrings."""
    from toolkit.components import hookspecs

    intro = inspect.cleandoc(hookspecs.__doc__ or "")
    first, _, rest = intro.partition("\n")
    parts = ["# Hook reference", "", first, "", linked_roles(rest.strip().replace("::\n", ":\n")), "",
             "A walk-through with an example package is on [Writing a plugin](../writing-a-plugin.md).", ""]
    for kind, name in hookspecs.HOOKS.items():
        spec = getattr(hookspecs, name)
        doc = inspect.cleandoc(spec.__doc__ or "")
        parts += [f"## `{name}` {{#{name}}}", "", "```python", f"@hookimpl\ndef {name}({', '.join(inspect.signature(spec).parameters)}):\n    ...",
                  "```", "", f"Registers **{kind}** (a recipe's `[{SECTION_OF_KIND[kind]}]`). "
                  f"[Registered {kind}](components.md#{kind}).", "", linked_roles(doc), ""]
    return "\n".join(parts) + "\n"


# Plugin API reference -------------------------------------------------------------------------------

def api_reference() -> str:
    """One entry per name in ``toolkit.api.__all__``, documented where the name is defined."""
    import toolkit.api as api

    defined_in = {**api._EXPORTS, "ToolkitError": "toolkit.errors", "hookimpl": "toolkit.components.hookspecs"}
    parts = ["# Plugin API", "", inspect.cleandoc(api.__doc__ or ""), "",
             f"This page lists `toolkit.api.__all__` of plugin API version **{api.API_VERSION}**: "
             f"{len(api.__all__)} names. Anything not listed here is internal.", ""]
    for name in api.__all__:
        module = defined_in.get(name, "toolkit.api")
        # the heading's id makes `toolkit.api.NAME` a cross-reference target (the hook reference links to it)
        parts += [f"## `toolkit.api.{name}` {{#toolkit.api.{name}}}", "", f"::: {module}.{name}", "    options:",
                  "      show_root_heading: false", ""]
    return "\n".join(parts) + "\n"


# Recipe pages ---------------------------------------------------------------------------------------

def recipe_comment(text: str) -> list[str]:
    """The leading comment block of a recipe, without the ``#``."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:][1:] if line[1:].startswith(" ") else line[1:])
    return lines


def recipe_title(text: str, stem: str) -> str:
    lines = recipe_comment(text)
    return lines[0].strip().rstrip(".") if lines and lines[0].strip() else stem


def comment_markdown(lines: list[str]) -> str:
    """Comment lines as Markdown: indented lines (commands) become code blocks, the rest paragraphs."""
    out: list[str] = []
    code: list[str] = []
    for line in lines:
        if line.startswith("  ") and line.strip():
            code.append(line.strip())
            continue
        if code:
            out += ["", "```bash", *code, "```", ""]
            code = []
        out.append(line.strip())
    if code:
        out += ["", "```bash", *code, "```"]
    return "\n".join(out).strip()


def recipe_page(path: Path, registry: Any, results: Path | None) -> str:
    import tomllib

    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    comment = recipe_comment(text)
    parts = [f"# {recipe_title(text, path.stem)}", "", f"`recipes/{path.name}`", ""]
    if len(comment) > 1:
        parts += [comment_markdown(comment[1:]), ""]
    parts += ["## Run it", "", "```bash", f"toolkit validate recipes/{path.name}", f"toolkit run recipes/{path.name}", "```", "",
              "## Components", "", "| section | component |", "| --- | --- |"]
    for section, kind in (("dataset", "datasets"), ("sampler", "samplers"), ("encoder", "encoders"),
                          ("loss", "losses"), ("miner", "miners")):
        if isinstance(data.get(section), dict) and "name" in data[section]:
            parts.append(f"| `[{section}]` | {_component_link(registry, kind, data[section]['name'])} |")
    for evaluator in data.get("evaluators", []) if isinstance(data.get("evaluators"), list) else []:
        if isinstance(evaluator, dict) and "name" in evaluator:
            parts.append(f"| `[[evaluators]]` | {_component_link(registry, 'evaluators', evaluator['name'])} |")
    parts.append("")
    if results is not None and results.is_file():
        parts += ["## Measured results", "", results.read_text(encoding="utf-8").strip(), ""]
    parts += ["## The recipe", "", "```toml", text.rstrip("\n"), "```", ""]
    return "\n".join(parts)


def _component_link(registry: Any, kind: str, name: str) -> str:
    if name in registry.names(kind):
        return f"[`{name}`](../reference/components.md#{anchor(kind, name)})"
    return f"`{name}` (not registered in this environment)"


def recipe_index(recipes: list[Path]) -> str:
    import tomllib

    parts = ["# Shipped recipes", "",
             "Every recipe in the repository's `recipes/` folder has a page, generated from the file itself: its "
             "leading comment block says what it reproduces, and the whole recipe is shown.", "",
             "| recipe | what | dataset | loss | epochs |", "| --- | --- | --- | --- | --- |"]
    for path in recipes:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
        parts.append(f"| [`{path.name}`]({path.stem}.md) | {cell(recipe_title(text, path.stem))} | "
                     f"`{data.get('dataset', {}).get('name', '?')}` | `{data.get('loss', {}).get('name', '?')}` | "
                     f"{data.get('run', {}).get('epochs', 10)} |")
    return "\n".join(parts) + "\n"


# Placeholders in hand-written pages -----------------------------------------------------------------

def readme_commands() -> str:
    """The README's first two bash blocks, verbatim (CI runs exactly these)."""
    blocks = re.findall(r"```bash\n(.+?)\n```", (REPO / "README.md").read_text(encoding="utf-8"))[:2]
    return "Install, then train and evaluate the quick-start recipe:\n\n```bash\n{}\n```\n\nRun the tests:\n\n```bash\n{}\n```".format(*blocks)


def run_settings_table() -> str:
    """The ``[run]`` keys: type, default and the attribute docstring written under each field."""
    from toolkit.recipes import recipe
    from toolkit.recipes.schema import field_docs

    docs = field_docs(recipe.RunSettings)
    lines = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for name, field in recipe.RunSettings.model_fields.items():
        limits = "".join(f", ≥ {m.ge}" for m in field.metadata if getattr(m, "ge", None) is not None)
        annotation = str(field.annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
        lines.append(f"| `{name}` | `{cell(annotation, code=True)}`{limits} | "
                     f"{'*not set*' if field.default is None else '`' + cell(toml_value(field.default), code=True) + '`'} | "
                     f"{cell(docs.get(name, ''))} |")
    return "\n".join(lines)


PLACEHOLDERS = {"<!-- generated: readme-commands -->": readme_commands,
                "<!-- generated: run-settings -->": run_settings_table}


# MkDocs events --------------------------------------------------------------------------------------

def shipped_recipes() -> list[Path]:
    return sorted(RECIPES.glob("*.toml"))


def on_config(config: Any) -> Any:
    """Put one page per shipped recipe (and an optional results page) into the navigation."""
    from toolkit.components.registry import reset_default_registry

    reset_default_registry()  # `mkdocs serve` rebuilds after plugins are installed or removed
    pages = [{"Overview": "recipes/index.md"}] + [{path.stem: f"recipes/{path.stem}.md"} for path in shipped_recipes()]
    if (Path(config["docs_dir"]) / "results.md").is_file():
        pages.append({"Measured results": "results.md"})
    config["nav"] = [_expand(item, pages) for item in config["nav"] or []]
    return config


def _expand(item: Any, pages: list[dict[str, str]]) -> Any:
    if isinstance(item, dict):
        return {title: pages if value == "recipes/index.md" else _expand(value, pages) for title, value in item.items()}
    if isinstance(item, list):
        return [_expand(i, pages) for i in item]
    return item


def generated_pages(docs_dir: Path) -> dict[str, str]:
    """Every generated page: its path in the site's docs and its Markdown."""
    from toolkit.cli.main import main
    from toolkit.components.registry import default_registry

    registry = default_registry()
    pages = {
        "reference/components.md": component_reference(registry),
        "reference/cli.md": cli_reference(main),
        "reference/hooks.md": hook_reference(),
        "reference/api.md": api_reference(),
        "recipes/index.md": recipe_index(shipped_recipes()),
    }
    for path in shipped_recipes():
        pages[f"recipes/{path.stem}.md"] = recipe_page(path, registry, docs_dir / RESULTS / f"{path.stem}.md")
    return pages


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for uri, content in generated_pages(Path(config["docs_dir"])).items():
        existing = files.get_file_from_path(uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, uri, content=content))
    _refuse_clashing_urls(files)
    return files


def _refuse_clashing_urls(files: Any) -> None:
    """Two pages built to one URL (``recipes.md`` and ``recipes/index.md``) would silently overwrite each other."""
    from mkdocs.exceptions import PluginError

    seen: dict[str, str] = {}
    for file in files.documentation_pages():
        if file.dest_uri in seen:
            raise PluginError(f"{file.src_uri} and {seen[file.dest_uri]} would both be built to {file.dest_uri}; rename one.")
        seen[file.dest_uri] = file.src_uri


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    for marker, make in PLACEHOLDERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    """Sphinx roles left in docstrings that mkdocstrings rendered (``:class:`x```) lose the role prefix; formulas
    become MathML."""
    return math_to_mathml(re.sub(r":(?:class|meth|func|mod|data|attr|exc|obj):(<code>)", r"\1", html))


MATH = re.compile(r'<(span|div) class="arithmatex">\s*\\([(\[])(.+?)\\[)\]]\s*</\1>', re.S)


def math_to_mathml(html: str) -> str:
    """The LaTeX that ``pymdownx.arithmatex`` marked (``\\(...\\)`` inline, ``\\[...\\]`` as a block) as MathML,
    which browsers render themselves: the site needs no script from the network to show its formulas."""
    import html as entities

    try:
        from latex2mathml.converter import convert
    except ImportError:
        from mkdocs.exceptions import PluginError

        raise PluginError("The site's formulas are rendered with latex2mathml: `pip install -e '.[docs]'` installs it.") from None

    def render(match: re.Match) -> str:
        display = "block" if match.group(2) == "[" else "inline"
        return convert(entities.unescape(match.group(3)).strip(), display=display)

    return MATH.sub(render, html)


if __name__ == "__main__":  # print one generated page: python tools/mkdocs_hooks.py reference/cli.md
    sys.stdout.write(generated_pages(REPO / "docs")[sys.argv[1]])
