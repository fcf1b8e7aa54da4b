"""Comparing finished runs: one row per run folder, one column per metric, as text or Markdown."""

from __future__ import annotations

import fnmatch
import html
import re
import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.errors import ToolkitError
from toolkit.evaluation.results import Evaluation
from toolkit.runfolder import files
from toolkit.runfolder.rundir import METRICS_FILE, RECIPE_FILE, is_finished_run

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BEGIN, END = "<!-- report:begin -->", "<!-- report:end -->"


@dataclass
class RunRow:
    """What the report shows of one finished run."""

    folder: Path
    recipe: str
    epochs: int
    train_seconds: float
    wall_seconds: float
    device: str
    metrics: dict[str, float]
    artifacts: dict[str, str] = field(default_factory=dict)
    command: str = ""
    reference: str = ""
    notes: list[str] = field(default_factory=list)


def find_finished_runs(paths: list[Path]) -> list[Path]:
    """Finished run folders among ``paths``: each path is a run folder or a folder searched like ``toolkit runs``
    searches (every level down to a few), in the order given and by name within a folder."""
    from toolkit.runfolder.runs import MAX_DEPTH, summarise_runs_under

    found: list[Path] = []
    for path in paths:
        skipped: list[str] = []
        runs = sorted(summarise_runs_under(path, skipped), key=lambda r: r.path)
        finished = [Path(r.path) for r in runs if is_finished_run(Path(r.path))]
        if not finished and skipped:  # a damaged run folder: say what is wrong with it
            raise ToolkitError(skipped[0])
        if not finished:
            unfinished = f" The run folders there did not finish: {', '.join(r.path for r in runs[:5])}." if runs else ""
            raise ToolkitError(
                f"{path}: no finished run ({METRICS_FILE}) in it or in the folders under it (searched {MAX_DEPTH} levels "
                f"down, as `toolkit runs` does).{unfinished} Give the folder of a run that completed (`toolkit run` "
                "prints it at the end)."
            )
        found.extend(finished)
    return found


def read_run(folder: Path, recipes_dir: Path | None = None, references: dict[str, str] | None = None) -> RunRow:
    """One run folder's row: its metrics, and the command that reproduces it when the shipped recipe is found."""
    metrics = files.read_metrics(folder)
    if metrics is None or metrics.train_seconds is None or metrics.wall_seconds is None:
        raise ToolkitError(f"{folder / METRICS_FILE} is not the metrics file of a finished run (no training times in "
                           "it). Give the folders of runs that `toolkit run` finished.")
    evaluation = Evaluation.from_metrics(metrics.model_dump())
    row = RunRow(folder, metrics.recipe, len(metrics.epochs), metrics.train_seconds, metrics.wall_seconds,
                 metrics.device or "", evaluation.flat(), artifacts=evaluation.flat_artifacts())
    row.command = reproduce_command(folder, row.recipe, recipes_dir)
    row.reference = (references or {}).get(row.recipe, "")
    return row


def reproduce_command(folder: Path, recipe: str, recipes_dir: Path | None) -> str:
    """``toolkit run recipes/NAME.toml`` plus a ``--set`` for every key where the run's recipe differs from it."""
    if recipes_dir is None or not (recipes_dir / f"{recipe}.toml").is_file() or not (folder / RECIPE_FILE).is_file():
        return ""
    shipped_path = recipes_dir / f"{recipe}.toml"
    try:
        shipped = tomllib.loads(shipped_path.read_text(encoding="utf-8"))
        used = tomllib.loads((folder / RECIPE_FILE).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return ""
    if _lacks_keys(shipped, used):  # a key the run did not have cannot be removed with --set
        return f"toolkit run {shlex.quote(str(folder / RECIPE_FILE))}"
    sets = [f"--set {shlex.quote(f'{key}={_toml_value(value)}')}" for key, value in _differences(shipped, used)]
    return " ".join(["toolkit run", shlex.quote(str(shipped_path)), *sets])


def _lacks_keys(shipped: Any, used: Any) -> bool:
    if isinstance(shipped, dict) and isinstance(used, dict):
        return any(k not in used or _lacks_keys(v, used[k]) for k, v in shipped.items())
    if isinstance(shipped, list) and isinstance(used, list) and any(isinstance(x, dict) for x in shipped):
        return len(shipped) != len(used) or any(_lacks_keys(a, b) for a, b in zip(shipped, used))
    return False  # a value, or a list of values: --set replaces it whole


def _differences(shipped: Any, used: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(shipped, dict) and isinstance(used, dict):
        out = []
        for key in used:
            out += _differences(shipped.get(key), used[key], f"{prefix}{key}.")
        return out
    if isinstance(shipped, list) and isinstance(used, list) and len(shipped) == len(used) and all(
            isinstance(x, dict) for x in used):
        return [d for i, (a, b) in enumerate(zip(shipped, used)) for d in _differences(a, b, f"{prefix}{i}.")]
    return [] if shipped == used else [(prefix.rstrip("."), used)]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def choose_metrics(rows: list[RunRow], patterns: list[str]) -> list[str]:
    """Metric columns: those matching ``patterns`` (shell-style, e.g. ``knn.*``) in that order; default all."""
    available: list[str] = []
    for row in rows:
        available += [m for m in row.metrics if m not in available]
    if not patterns:
        return available
    chosen: list[str] = []
    for pattern in patterns:
        matches = [m for m in available if fnmatch.fnmatchcase(m, pattern) and m not in chosen]
        if not matches:
            raise ToolkitError(
                f"--metric {pattern!r} matches no metric of these runs. Their metrics are: {', '.join(available)}."
            )
        chosen += matches
    return chosen


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}:{rest:02d}"


def table(rows: list[RunRow], metrics: list[str]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the comparison."""
    header = ["run", "recipe", "epochs", "train", "wall", "device", *metrics]
    with_reference = any(r.reference for r in rows)
    if with_reference:
        header.append("article")
    cells = []
    for r in rows:
        line = [r.folder.name, r.recipe, str(r.epochs), _minutes(r.train_seconds), _minutes(r.wall_seconds), r.device]
        line += [f"{r.metrics[m]:.4f}" if m in r.metrics else "–" for m in metrics]
        if with_reference:
            line.append(r.reference or "–")
        cells.append(line)
    return header, cells


def format_text(rows: list[RunRow], metrics: list[str]) -> str:
    """An aligned plain-text table for the terminal."""
    header, cells = table(rows, metrics)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    fmt = lambda line: "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths)))  # noqa: E731
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *(fmt(c) for c in cells)])


def format_markdown(rows: list[RunRow], metrics: list[str]) -> str:
    """A Markdown table, then the command that reproduces each row."""
    header, cells = table(rows, metrics)
    escape = lambda v: html.escape(v, quote=False).replace("|", "\\|")  # noqa: E731  raw HTML would render
    text_columns = {"run", "recipe", "device", "article"}
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " if h in text_columns else " ---: " for h in header) + "|"]
    lines += ["| " + " | ".join(escape(v) for v in c) + " |" for c in cells]
    commands = [(r.folder.name, r.command) for r in rows if r.command]
    if commands:
        lines += ["", "Reproduce a row:", ""]
        lines += [f"- {escape(run)}: {_code(command)}" for run, command in commands]
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    """``text`` as a Markdown code span (shown literally), fenced by more backticks than it holds in a row."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}" if longest else f"`{text}`"


def write_markdown(path: Path, text: str) -> None:
    """Write the table into ``path``: between the report markers when the file has them, else the whole file."""
    from toolkit.runfolder.rundir import write_atomic

    block = f"{BEGIN}\n{text}{END}"
    try:
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
    except OSError as exc:
        raise ToolkitError(f"Cannot read {path}: {exc}. Choose another --markdown file.") from None
    if BEGIN in current and END in current:
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END)
        new = f"{head}{block}{tail}"
    else:
        new = f"{block}\n"
    try:
        write_atomic(path, lambda tmp: tmp.write_text(new, encoding="utf-8"))
    except OSError as exc:
        raise ToolkitError(f"Cannot write {path}: {exc}. Choose another --markdown file.") from None


def read_references(path: Path | None) -> dict[str, str]:
    """``recipe = "the article's figure"`` lines from a TOML file."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ToolkitError(f"--reference {path}: cannot read it as TOML ({exc}). Write one line per recipe: "
                           'recipe_name = "figure from the article".') from None
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise ToolkitError(f"--reference {path}: {', '.join(bad)} must be strings (recipe_name = \"figure from the article\").")
    return data
