"""The generated command-line reference, parsed back: every option's row says its type, choices and default."""

from __future__ import annotations

import re

import click
import pytest

from tests.conftest import mkdocs_hooks
from toolkit.cli.main import main


@pytest.fixture(scope="module")
def page() -> str:
    return mkdocs_hooks().cli_reference(main)


def _cells(row: str) -> list[str]:
    """A Markdown table row's cells: a pipe ends a cell unless escaped (``\\|``) or inside a code span."""
    cells, current, in_code = [], "", False
    body = row.strip()[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and body[i + 1:i + 2] == "|":
            current, i = current + "|", i + 2
            continue
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
        i += 1
    return cells + [current.strip()]


def _option_rows(page: str, command: str) -> dict[str, list[str]]:
    section = page.split(f"## `toolkit {command}`", 1)[1].split("\n## ")[0]
    rows = [_cells(line) for line in section.splitlines() if line.startswith("| `-")]
    return {re.findall(r"`(-[^`]+)`", row[0])[0]: row for row in rows}


def _options():
    for name, command in main.commands.items():
        for option in command.params:
            if isinstance(option, click.Option) and not option.hidden:
                yield name, option


@pytest.mark.parametrize(("command", "option"), list(_options()), ids=lambda x: getattr(x, "name", x))
def test_each_option_row_has_four_cells_with_its_choices_and_default(page, command, option):
    row = _option_rows(page, command)[option.opts[0]]
    assert len(row) == 4, row
    name, kind, default, _ = row
    if isinstance(option.type, click.Choice):
        assert re.findall(r"`([^`]+)`", kind) == list(option.type.choices)
    expected = option.default
    if option.multiple:
        assert default == "repeatable"
    elif option.is_flag or expected is None or type(expected).__name__ == "Sentinel":
        assert default == ""
    else:
        assert default == f"`{expected}`"


def test_no_internal_value_leaks_into_the_page(page):
    assert "Sentinel" not in page and "UNSET" not in page and "<function" not in page
