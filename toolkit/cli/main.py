"""The ``toolkit`` command. Heavy imports (torch, plugins) happen inside the commands that need them."""

from __future__ import annotations

import json
from pathlib import Path
import sys
from typing import TYPE_CHECKING, Any

import click

from toolkit.cli.collector import collector_paused
from toolkit.components.kinds import KINDS
from toolkit.errors import ToolkitError
from toolkit.evaluation.results import Evaluation

if TYPE_CHECKING:
    from toolkit.recipes.recipe import Recipe



class _Group(click.Group):
    """Turns a :class:`ToolkitError` into one clear paragraph and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ToolkitError as exc:
            click.echo(click.style("Error: ", fg="red", bold=True) + str(exc), err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group)
@click.version_option(package_name="metric-toolkit")
def main() -> None:
    """Train and compare metric-learning embedding models from TOML recipes."""


def program() -> None:
    """The ``toolkit`` program: one command, then the process ends."""
    from toolkit.cli.collector import ending_the_process

    ending_the_process()
    main()


@main.command()
@click.argument("recipe", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override one recipe key, e.g. --set run.epochs=1.")
@click.option("--output", "-o", default=None, help="Run folder (default: run.output, else runs/<recipe>-<time>).")
@click.option("--resume", default=None, metavar="RUN_DIR",
              help="Continue the run in RUN_DIR from its last checkpoint (RECIPE may be left out: the folder holds it).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def run(recipe: str | None, overrides: tuple[str, ...], output: str | None, resume: str | None, overwrite: bool,
        quiet: bool) -> None:
    """Train and evaluate RECIPE, writing a run folder; or continue one with --resume RUN_DIR."""
    import logging

    recipe = recipe or _recipe_of(resume)
    from toolkit.training.runner import run as run_recipe

    if resume and overwrite:
        raise ToolkitError("--resume and --overwrite contradict each other: choose one.")
    if resume and output and Path(output).resolve() != Path(resume).resolve():
        raise ToolkitError(f"--resume continues the run in its own folder ({resume}); --output cannot send it elsewhere. Drop --output.")
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("toolkit").addHandler(console)
    try:
        result = run_recipe(recipe, overrides=overrides, output=output, resume=resume, overwrite=overwrite,
                            progress=not quiet)
    finally:
        logging.getLogger("toolkit").removeHandler(console)
    if result.metrics:  # ranks other than 0 of a distributed run evaluate nothing and print nothing
        click.echo(format_metrics(result.metrics))
        click.echo(f"Run folder: {result.run_dir}")


def _recipe_of(resume: str | None) -> str:
    """The recipe a resumed run continues with: the one its folder holds."""
    if resume is None:
        raise ToolkitError("Give the RECIPE file to run (for example `toolkit run recipes/quickstart.toml`), or "
                           "--resume RUN_DIR to continue a run.")
    recipe = Path(resume) / "recipe.toml"
    if not recipe.is_file():
        raise ToolkitError(f"--resume {resume}: there is no run folder there (no recipe.toml in it). Give the folder a "
                           "`toolkit run` wrote; `toolkit runs` lists them.")
    return str(recipe)


def format_metrics(metrics: dict[str, Any]) -> str:
    lines = [f"{metrics['recipe']}: {len(metrics['epochs'])} epochs, training {metrics['train_seconds']:.1f}s, "
             f"total {metrics['wall_seconds']:.1f}s on {metrics['device']}"]
    evaluation = Evaluation.from_metrics(metrics)
    lines += [f"  {name:<32} {value:.4f}" for name, value in evaluation.flat().items()]
    lines += [f"  {name:<32} {path}" for name, path in evaluation.flat_artifacts().items()]
    return "\n".join(lines)


@main.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override one recipe key.")
@click.option("--print", "show", is_flag=True, help="Also print the resolved recipe: overrides applied, every default written out.")
def validate(recipe: str, overrides: tuple[str, ...], show: bool) -> None:
    """Check RECIPE (syntax, components, parameters, data files) without training."""
    with collector_paused():
        from toolkit.recipes.recipe import load_recipe

        parsed = load_recipe(recipe, overrides)  # a missing file or bad TOML is reported before torch is imported
        from toolkit.cli.deferred_compiler import compiler_deferred

        with compiler_deferred():  # checking never compiles: torchvision's import need not load torch's compiler
            _check_recipe(parsed, show)
    click.echo(f"{recipe}: OK")


def _check_recipe(parsed: Recipe, show: bool) -> None:
    """Build the recipe's components and check them against the data, as `toolkit run` does before training."""
    from toolkit.components.registry import default_registry
    from toolkit.imagedata.peek import checking_only
    from toolkit.recipes.build import build_components, check_against_data

    if parsed.run.device == "cuda":  # "auto" and "cpu" always find a device; the runner's module is slow to import
        from toolkit.training.runner import pick_device

        pick_device(parsed.run.device, parsed.path)
    components = build_components(parsed)
    with checking_only():  # folders and tables are listed; only the images the checks look at are decoded
        check_against_data(parsed, components)
    if parsed.run.monitor is not None:  # measures the untrained encoder on a sample, as `toolkit run` does in full
        from toolkit.training.validation import prepare_monitor

        prepare_monitor(parsed, components, check_only=True)
    if show:
        from toolkit.cli.resolved import format_resolved

        click.echo(format_resolved(parsed, default_registry()))


@main.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override one recipe key.")
def prepare(recipe: str, overrides: tuple[str, ...]) -> None:
    """Decode and resize RECIPE's images once into the prepared cache, so runs start at memory speed."""
    import logging

    from toolkit.cli.prepare import prepare_recipe

    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("toolkit").addHandler(console)
    logging.getLogger("toolkit").setLevel(logging.INFO)
    try:
        lines = prepare_recipe(recipe, overrides)
    finally:
        logging.getLogger("toolkit").removeHandler(console)
    click.echo("\n".join(lines))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--traceback", "show_traceback", is_flag=True, help="Show the full error of each plugin that failed to load.")
def plugins(as_json: bool, show_traceback: bool) -> None:
    """List installed plugins, their versions and the components each registers, with the plugin API version."""
    from toolkit.cli.listing import installed

    description = installed()
    rows = description["plugins"]
    if as_json:
        click.echo(json.dumps({"api_version": description["api_version"], "plugins": rows}, indent=2))
        return
    click.echo(f"toolkit plugin API {description['api_version']}")
    for row in rows:
        origin = "built-in" if row["builtin"] else row["distribution"]
        needs = f", needs API {row['requires_api']}" if row.get("requires_api") else ""
        click.echo(f"{row['name']} ({origin} {row['version']}{needs})")
        if row["error"]:
            click.echo(click.style(f"  failed to load: {row['error']}", fg="red"))
            if show_traceback and row.get("traceback"):
                click.echo("  " + row["traceback"].rstrip().replace("\n", "\n  "))
        for kind, names in row["components"].items():
            click.echo(f"  {kind}: {', '.join(names)}")
    if not show_traceback and any(row["error"] for row in rows):
        click.echo("`toolkit plugins --traceback` shows the full error of each plugin that failed to load.")


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--metric", "-m", "metrics", multiple=True, metavar="PATTERN",
              help="Metric column(s) to show, e.g. -m knn.precision_at_1 -m 'kmeans.*' (default: all).")
@click.option("--markdown", "markdown", default=None, type=click.Path(dir_okay=False),
              help="Also write the table as Markdown to FILE (between <!-- report:begin/end --> markers when it has them).")
@click.option("--recipes", "recipes_dir", default="recipes", show_default=True, type=click.Path(file_okay=False),
              help="Folder of the shipped recipes, to print the command that reproduces each row.")
@click.option("--reference", default=None, type=click.Path(exists=True, dir_okay=False),
              help='TOML file of recipe_name = "article figure" lines, shown in an "article" column.')
def report(run_dirs: tuple[str, ...], metrics: tuple[str, ...], markdown: str | None, recipes_dir: str,
           reference: str | None) -> None:
    """Compare finished runs: recipe, epochs, times and every metric, one row per RUN_DIR.

    A RUN_DIR may also be a folder of run folders.
    """

    from toolkit.reporting.results_table import (choose_metrics, find_finished_runs, format_markdown, format_text,
                                                 read_references, read_run, write_markdown)

    references = read_references(Path(reference) if reference else None)
    rows = [read_run(folder, Path(recipes_dir), references) for folder in find_finished_runs([Path(d) for d in run_dirs])]
    columns = choose_metrics(rows, list(metrics))
    click.echo(format_text(rows, columns))
    if markdown:
        write_markdown(Path(markdown), format_markdown(rows, columns))
        click.echo(f"Markdown table written to {markdown}")


@main.command(name="list")
@click.argument("kind", required=False, type=click.Choice(KINDS))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_components(kind: str | None, as_json: bool) -> None:
    """List registered components with their parameters (all kinds, or one KIND)."""
    from toolkit.cli.listing import installed

    components = installed()["components"]
    kinds = [kind] if kind else list(components)
    if as_json:
        click.echo(json.dumps({k: components[k] for k in kinds}, indent=2))
        return
    for k in kinds:
        click.echo(click.style(k, bold=True))
        for c in components[k]:
            click.echo(f"  {c['name']}  [{c['plugin']}]  {c['summary']}")
            for p in c["parameters"]:
                default = "required" if p["required"] else f"= {p['default']}"
                doc = f"  {p['doc']}" if p["doc"] else ""
                click.echo(f"      {p['name']}: {p['type']} {default}{doc}")


@main.command()
@click.option("--indent", default=2, show_default=True, help="Indentation of the JSON.")
def schema(indent: int) -> None:
    """Print a JSON Schema of the recipe format for the installed components.

    Save it (`toolkit schema > recipe.schema.json`) and point a TOML language server at it, for example with a
    `#:schema ./recipe.schema.json` first line in a recipe, so an editor completes and checks recipes.
    """
    from toolkit.recipes.schema import recipe_schema

    click.echo(json.dumps(recipe_schema(), indent=indent))


@main.command(name="new-plugin")
@click.argument("name")
@click.option("--dir", "target", default=None, metavar="DIR", help="Folder to create (default: ./NAME); must not hold files.")
def new_plugin(name: str, target: str | None) -> None:
    """Write a new plugin package NAME: pyproject with the entry point, one stub component of each kind, a test."""
    from toolkit.cli.scaffold import new_plugin as write_plugin

    written = write_plugin(name, target)
    folder = written[0].parent
    click.echo(f"Wrote plugin {name} in {folder}:")
    for path in written:
        click.echo(f"  {path.relative_to(folder)}")
    click.echo(f"Next: pip install -e {folder}, then `toolkit plugins` lists it; the stubs say which file to edit.")


def _add_model_commands() -> None:
    from toolkit.cli.model_commands import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_model_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
