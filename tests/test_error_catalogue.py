"""Every mistake in the catalogue (tests/error_catalogue.py) meets the same bar through the command line:
a non-zero exit code, no traceback, one paragraph naming where the problem is and how to fix it, and
nothing written, changed or left half-done in the user's folders."""

from __future__ import annotations

import pytest

from tests.error_catalogue import BEGIN, CASES, END, catalogue_markdown, fill, run_case
from tests.conftest import REPO


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mistake_gets_one_clear_paragraph_and_leaves_nothing_behind(case, tmp_path):
    ws, outcome, before, after = run_case(case, tmp_path)
    assert outcome.exit_code == case.exit_code, outcome.output
    assert isinstance(outcome.exception, SystemExit), outcome.output
    assert "Traceback" not in outcome.output
    assert outcome.message and "\n" not in outcome.message, outcome.output
    for expected in case.expect:
        assert fill(expected, ws) in outcome.message
    assert after == before


def test_catalogue_has_at_least_25_distinct_cases():
    assert len({c.id for c in CASES}) == len(CASES) >= 25


def test_reliability_page_lists_every_case():
    page = (REPO / "docs" / "reliability.md").read_text()
    missing = [c.id for c in CASES if f"`{c.id}`" not in page]
    assert not missing, f"regenerate the catalogue with `python -m tests.error_catalogue`: {missing}"


@pytest.mark.slow
def test_reliability_page_shows_the_messages_the_toolkit_prints_today(tmp_path):
    page = (REPO / "docs" / "reliability.md").read_text()
    shown = page.partition(BEGIN)[2].partition(END)[0].strip()
    assert shown == catalogue_markdown(tmp_path.resolve()).strip(), (
        "docs/reliability.md is out of date: regenerate it with `python -m tests.error_catalogue`")
