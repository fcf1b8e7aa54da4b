"""The core stays readable: no function in toolkit/ runs over 60 lines or takes more than 8 parameters."""

from __future__ import annotations

import importlib.util

from tests.conftest import REPO


def _checker():
    spec = importlib.util.spec_from_file_location("check_function_size", REPO / "tools" / "check_function_size.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_function_in_the_core_is_over_60_lines_or_8_parameters():
    assert _checker().oversized(REPO / "toolkit") == []


def test_the_size_check_finds_a_function_with_too_many_parameters(tmp_path):
    (tmp_path / "wide.py").write_text("def wide(a, b, c, d, e, f, g, h, i):\n    return a\n")
    assert [line.split(" ", 1)[1] for line in _checker().oversized(tmp_path)] == ["wide: 9 parameters, 2 lines"]
