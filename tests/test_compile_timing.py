"""``run.compile``: torch.compile's compiling time is told apart from the training steps, in the log and metrics."""

from __future__ import annotations

import logging

import pytest

from toolkit.training.compiling import LATER_STEPS, CompileTiming, compile_summary


def test_compile_time_is_the_first_step_less_a_later_one():
    timing = CompileTiming()
    for seconds in (12.5, 0.2, 0.3, 0.25, 9.0):  # one slow later step (a recompile) does not move the median
        timing.add(seconds)
    assert timing.as_dict() == {"compile_seconds": 12.225, "first_step_seconds": 12.5, "step_seconds": 0.275,
                                "steps_timed": 5}


def test_only_the_first_steps_are_kept():
    timing = CompileTiming()
    for _ in range(LATER_STEPS + 50):
        timing.add(1.0)
    assert len(timing.later_steps) == LATER_STEPS


def test_a_run_without_compile_reports_nothing_about_it():
    assert compile_summary(None) == {} and compile_summary(CompileTiming()) == {}


@pytest.mark.slow
def test_a_compiled_run_logs_and_records_its_compile_time(write_recipe, tmp_path, caplog):
    from tests.conftest import QUICK_RECIPE
    from toolkit.training.runner import run

    recipe = write_recipe(QUICK_RECIPE.replace("epochs = 2", "epochs = 1\ncompile = true"))
    with caplog.at_level(logging.INFO, logger="toolkit"):
        metrics = run(recipe, output=str(tmp_path / "run"), progress=False).metrics
    timed = metrics["compile"]
    assert timed["compile_seconds"] > 0.5 and timed["first_step_seconds"] > 20 * timed["step_seconds"]
    assert "torch.compile: the first training step took" in caplog.text
