"""Claiming a run folder for one run: an OS lock while it lives, and ``--overwrite`` that never loses the old run.

The lock is ``fcntl.flock`` on a file in the run folder: the kernel releases it when the process ends, however it
ends, so a killed run never blocks its own resume. ``--overwrite`` moves the old run aside (inside the same parent
folder, so the move is a rename) and deletes it only once the new run has its first checkpoint; a new run that
fails or is interrupted before that gets the old run back, byte for byte.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.evaluation.results import Evaluation
from toolkit.runfolder import rundir

LOCK_FILE = ".lock"
ASIDE_PREFIX = ".replaced-"
RUN_FILES = frozenset({
    rundir.RECIPE_FILE, rundir.METRICS_FILE, rundir.STATUS_FILE, rundir.CHECKPOINT_FILE, rundir.ENCODER_FILE,
    rundir.LOG_FILE, rundir.TRANSFORM_FILE, rundir.THRESHOLD_FILE, rundir.REPORT_FILE, rundir.GALLERY_INDEX,
    rundir.GALLERY_META, LOCK_FILE, "encoder.torchscript.pt", "encoder.onnx",
})
RUN_FILE_SUFFIXES = (".png", ".gif", ".json", ".txt", rundir.TEMP_SUFFIX)
"""Figures, evaluator results and reports that evaluators write under names a recipe chooses."""
RUN_FOLDERS = frozenset({"tensorboard", "embedding_epochs"})


class RunFolderLock:
    """An exclusive ``flock`` on ``folder/.lock`` that records the holder's PID; :meth:`release` or the end of the
    process frees it."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> "RunFolderLock":
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ToolkitError(f"Cannot lock the run folder {str(self.path.parent)!r} for this run: "
                                   f"{exc.strerror or exc}. Make it writable, or choose another folder.") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                raise ToolkitError(
                    f"The run folder {str(self.path.parent)!r} is in use by a run that is still going "
                    f"({holder_description(self.path)}). Wait for it to end or stop it, or choose another folder "
                    "with --output."
                ) from None
            if _same_file(fd, self.path):  # else the folder was moved or emptied between open and lock: try again
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def holder_description(lock_path: Path) -> str:
    try:
        pid = lock_path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


def is_locked(folder: Path) -> bool:
    """Whether a live process holds ``folder``'s lock."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def foreign_entries(folder: Path) -> list[str]:
    """What in ``folder`` a run did not write (a run writes known names, figures and results, tensorboard logs)."""
    foreign, artifacts = [], _artifact_names(folder)
    for entry in sorted(folder.iterdir()):
        if entry.name in artifacts and not entry.is_symlink():
            continue
        if entry.is_symlink():
            foreign.append(entry.name)
        elif entry.is_dir():
            if entry.name not in RUN_FOLDERS and not all(p.suffix in (".png", ".gif") for p in entry.iterdir()):
                foreign.append(entry.name + "/")
        elif entry.name not in RUN_FILES and not entry.name.endswith(RUN_FILE_SUFFIXES):
            foreign.append(entry.name)
    return foreign


def _artifact_names(folder: Path) -> set[str]:
    """The files and folders the run's evaluators recorded as theirs in ``metrics.json``."""
    paths = Evaluation.from_metrics(rundir.read_json(folder / rundir.METRICS_FILE)).flat_artifacts().values()
    return {Path(p).parts[0] for p in paths if not Path(p).is_absolute() and ".." not in Path(p).parts}


def aside_path(path: Path) -> Path:
    """Where ``--overwrite`` keeps the old run of ``path`` meanwhile: a short hidden name in the same parent folder."""
    return path.parent / f"{ASIDE_PREFIX}{hashlib.sha256(path.name.encode()).hexdigest()[:12]}"


class RunFolderClaim:
    """One run's hold on its folder: the lock, the old run kept aside by ``--overwrite``, and what ``status.json``
    was when the run began (a run that is refused before it starts leaves the status as it found it)."""

    def __init__(self, path: Path, lock: RunFolderLock, *, created: Path | None = None, aside: Path | None = None):
        self.path, self.lock, self.created, self.aside = path, lock, created, aside
        self._status_before = _stat(path / rundir.STATUS_FILE)
        _ACTIVE[path] = self

    def checkpointed(self) -> None:
        """The new run has a checkpoint: the old run it replaces is no longer needed."""
        if self.aside is not None:
            shutil.rmtree(self.aside, ignore_errors=True)
            self.aside = None

    def abandon(self) -> None:
        """The run ended before its first checkpoint: remove what it made and put back the run it replaced."""
        rundir.discard_run_dir(self.path, self.created if self.aside is None else self.path)
        if self.aside is not None:
            os.rename(self.aside, self.path)
            self.aside = None

    def started(self) -> bool:
        """Whether this run has written its folder's ``status.json`` (so it may say how the run ended)."""
        return _stat(self.path / rundir.STATUS_FILE) != self._status_before

    def release(self) -> None:
        _ACTIVE.pop(self.path, None)
        self.lock.release()


_ACTIVE: dict[Path, RunFolderClaim] = {}


def checkpoint_written(run_dir: Path) -> None:
    """Tell the claim on ``run_dir`` (if any) that the run saved a checkpoint."""
    if run_dir in _ACTIVE:
        _ACTIVE[run_dir].checkpointed()


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns


def claim_run_dir(path: Path, *, overwrite: bool, resume: bool) -> RunFolderClaim:
    """Lock the run folder ``path`` for this run: create it, continue the run in it (``resume``) or replace the run
    in it (``overwrite``), refusing a folder that another live run holds or that holds files a run did not write."""
    _check_output_path(path)
    _recover_interrupted_overwrite(path)
    if resume:
        if not (path / rundir.CHECKPOINT_FILE).is_file():
            raise ToolkitError(f"Cannot resume from {str(path)!r}: it holds no {rundir.CHECKPOINT_FILE}. Give the folder "
                               "of a run that finished at least one epoch.")
        lock = RunFolderLock(path).acquire()
        rundir.remove_stale_temporaries(path)
        return RunFolderClaim(path, lock)
    created = None if path.exists() else rundir.first_missing_ancestor(path)
    aside = None
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise ToolkitError(
                f"The output folder {str(path)!r} already holds files (another run?). "
                "Pass --overwrite to replace it, --resume to continue the run in it, or choose another folder with --output."
            )
        aside = _move_aside(path)
    try:
        _make_writable_folder(path)
        return RunFolderClaim(path, RunFolderLock(path).acquire(), created=created, aside=aside)
    except BaseException:
        if aside is not None:
            shutil.rmtree(path, ignore_errors=True)
            os.rename(aside, path)
        raise


def _check_output_path(path: Path) -> None:
    try:
        if path.exists() and not path.is_dir():
            raise ToolkitError(f"The output path {str(path)!r} exists and is not a folder; choose another with "
                               "run.output or --output.")
    except OSError as exc:  # a name longer than the file system allows, a folder that cannot be searched
        raise ToolkitError(f"Cannot use the output folder {str(path)!r}: {exc.strerror or exc}. Choose another "
                           "(a shorter name) with --output.") from None


def _make_writable_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ToolkitError(f"Cannot write into the output folder {str(path)!r}: {exc.strerror or exc}. Choose another "
                           "with --output.") from None


def _move_aside(path: Path) -> Path:
    """Check that ``path`` holds a replaceable run that no live process holds, and move it aside."""
    _check_replaceable(path)
    old = RunFolderLock(path).acquire()  # refuses a run that is still going
    try:
        aside = aside_path(path)
        if aside.exists():
            shutil.rmtree(aside)
        os.rename(path, aside)
    except OSError as exc:
        raise ToolkitError(f"Cannot move the earlier run in {str(path)!r} aside to replace it: "
                           f"{exc.strerror or exc}. Choose another folder with --output.") from None
    finally:
        old.release()
    return aside


def _check_replaceable(path: Path) -> None:
    """``--overwrite`` replaces a run folder, never a link, the current folder or one above it, or other files."""
    if path.is_symlink():
        raise ToolkitError(
            f"--overwrite would replace {str(path)!r}, which is a symbolic link to {os.readlink(path)!r}; the link and "
            "what it points to were left alone. Give the folder itself with --output, or choose another folder."
        )
    resolved, here = path.resolve(), Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise ToolkitError(
            f"--overwrite would delete {str(path)!r}, which is the current folder or one above it. "
            "Choose a run folder of its own with --output."
        )
    if not rundir.is_run_dir(path):
        raise ToolkitError(
            f"--overwrite replaces only run folders, and {str(path)!r} does not look like one (no {rundir.RECIPE_FILE} "
            f"with {rundir.STATUS_FILE} or {rundir.CHECKPOINT_FILE}), so its files were left alone. Choose another "
            "folder with --output, or empty this one yourself."
        )
    foreign = foreign_entries(path)
    if foreign:
        raise ToolkitError(
            f"--overwrite deletes only what a run writes, and {str(path)!r} also holds {', '.join(foreign[:8])}"
            f"{' and more' if len(foreign) > 8 else ''}, so nothing was deleted. Move those elsewhere, or choose "
            "another folder with --output."
        )


def _recover_interrupted_overwrite(path: Path) -> None:
    """An earlier ``--overwrite`` of ``path`` whose process was killed: keep the new run if it got a checkpoint,
    else put the old one back."""
    aside = aside_path(path)
    if not aside.is_dir() or is_locked(path):
        return
    if (path / rundir.CHECKPOINT_FILE).is_file():
        shutil.rmtree(aside, ignore_errors=True)
        return
    if path.is_dir() and not foreign_entries(path):
        shutil.rmtree(path)
    if not path.exists():
        os.rename(aside, path)
