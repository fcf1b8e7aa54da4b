"""A process killed in the middle of writing a run file leaves the old file whole, never a torn one."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.conftest import REPO
from toolkit.training import checkpoint
from toolkit.runfolder import rundir
from toolkit.runfolder.claim import claim_run_dir

WRITER = r'''
import json, sys, time
from pathlib import Path
from toolkit.runfolder import rundir

path, marker = Path(sys.argv[1]), Path(sys.argv[2])

def half_then_hang(tmp):
    text = json.dumps({"version": 2, "padding": "x" * 100000})
    with open(tmp, "w") as f:
        f.write(text[: len(text) // 2])
        f.flush()
        marker.write_text("half written")
        time.sleep(120)
        f.write(text[len(text) // 2:])

rundir.write_atomic(path, half_then_hang)
'''


def test_a_kill_in_the_middle_of_a_write_leaves_the_old_file_and_the_next_use_clears_the_leftover(tmp_path):
    path, marker = tmp_path / "metrics.json", tmp_path / "half"
    rundir.write_json(path, {"version": 1})
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(marker)], cwd=REPO)
    deadline = time.time() + 120
    while not marker.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the writer never started"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    assert json.loads(path.read_text()) == {"version": 1}
    leftovers = list(tmp_path.glob(".metrics.json.*.tmp"))
    assert leftovers
    claim_run_dir(tmp_path, overwrite=False, resume=True).release()
    assert not list(tmp_path.glob(".metrics.json.*.tmp"))


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "checkpoint.pt"
    checkpoint.save(path, {"encoder": {}, "epoch": 1})

    def fail(tmp):
        tmp.write_bytes(b"partial")
        raise OSError("disk full")

    try:
        rundir.write_atomic(path, fail)
    except OSError:
        pass
    assert checkpoint.load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]
