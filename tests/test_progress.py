"""Progress on a terminal is tqdm's bar; in a log file it is whole lines, one per epoch."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from toolkit import progress as progress_module
from toolkit.progress import LineProgress, progress


@pytest.mark.slow
def test_a_log_file_gets_one_line_per_epoch_and_no_carriage_returns(tmp_path):
    log = tmp_path / "log"
    with log.open("w") as out:
        subprocess.run([sys.executable, "-m", "toolkit", "run", str(REPO / "recipes" / "quickstart.toml"),
                        "-o", str(tmp_path / "run"), "--set", "run.epochs=3"], stdout=out, stderr=subprocess.STDOUT,
                       check=True, timeout=600, cwd=tmp_path)
    text = log.read_text()
    assert "\r" not in text
    assert re.findall(r"^epoch (\d)/3 ", text, flags=re.M) == ["1", "2", "3"]
    assert len(re.findall("run folder", text, flags=re.I)) == 1


def test_without_a_terminal_a_long_loop_writes_a_whole_line_each_interval():
    out = io.StringIO()
    bar = LineProgress(range(3), desc="epoch 1/2", unit="batch", total=3, interval=0.0, stream=out)
    bar.set_postfix(loss="0.5000")
    assert list(bar) == [0, 1, 2]
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("epoch 1/2: 3/3 batches") and lines[-1].endswith("loss 0.5000")


def test_a_short_loop_in_a_log_file_writes_nothing(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert list(progress(range(5), desc="embedding", unit="batch")) == list(range(5))
    assert sys.stderr.getvalue() == ""


def test_a_terminal_gets_the_bar(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    bar = progress(range(5), desc="embedding", unit="batch")
    assert type(bar).__module__.startswith("tqdm")
    assert list(bar) == list(range(5))
    assert "\r" in sys.stderr.getvalue()


def test_the_interval_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv(progress_module.INTERVAL_VARIABLE, "5")
    assert progress(range(2), desc="d", unit="u").interval == 5.0


def test_decoding_in_a_log_file_writes_one_line_when_done_if_it_is_quick(monkeypatch, caplog):
    from toolkit.imagedata.decoding import progress_reporter

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    tick = progress_reporter(300, "preparing faces")
    with caplog.at_level(logging.INFO, logger="toolkit"):
        for done in range(1, 301):
            tick(done)
    assert [r.getMessage() for r in caplog.records] == ["preparing faces: 300/300"]
