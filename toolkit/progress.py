"""Progress of long loops: tqdm's bar on a terminal, a plain line every few seconds anywhere else.

A bar redraws itself with carriage returns, which a log file (``toolkit run ... > log 2>&1``) keeps as
dozens of glued states per epoch; without a terminal the loop writes a whole line now and then instead.
``TOOLKIT_PROGRESS_SECONDS`` sets how often (default 30 s); the loops' callers log their own summary lines.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

INTERVAL_VARIABLE = "TOOLKIT_PROGRESS_SECONDS"
DEFAULT_INTERVAL = 30.0


def progress(iterable: Iterable[Any], *, desc: str, unit: str, total: int | None = None, initial: int = 0,
             enabled: bool = True) -> Any:
    """``iterable`` wrapped in a progress display that suits where stderr goes; nothing when not ``enabled``."""
    if total is None and hasattr(iterable, "__len__"):
        total = initial + len(iterable)  # type: ignore[arg-type]
    if enabled and _interactive(sys.stderr):
        from tqdm.auto import tqdm

        return tqdm(iterable, desc=desc, unit=unit, total=total, initial=initial, leave=False, dynamic_ncols=True)
    interval = line_interval() if enabled else float("inf")
    return LineProgress(iterable, desc=desc, unit=unit, total=total, initial=initial, interval=interval)


def _interactive(stream: TextIO) -> bool:
    # a Jupyter kernel's stderr is no terminal, yet shows tqdm's widget properly
    return bool(getattr(stream, "isatty", lambda: False)()) or "ipykernel" in sys.modules


def line_interval() -> float:
    """Seconds between the plain progress lines written without a terminal (``TOOLKIT_PROGRESS_SECONDS``)."""
    raw = os.environ.get(INTERVAL_VARIABLE, "")
    try:
        return max(float(raw), 0.0) if raw else DEFAULT_INTERVAL
    except ValueError:
        return DEFAULT_INTERVAL


class LineProgress:
    """Iterates like tqdm; writes ``desc: done/total unit, rate`` as one line each time ``interval`` s have passed."""

    def __init__(self, iterable: Iterable[Any], *, desc: str, unit: str, total: int | None, initial: int = 0,
                 interval: float = DEFAULT_INTERVAL, stream: TextIO | None = None):
        self.iterable, self.desc, self.unit, self.total = iterable, desc, unit, total
        self.done, self.interval, self.stream = initial, interval, stream
        self.postfix = ""

    def __iter__(self) -> Iterator[Any]:
        start = last = time.perf_counter()
        first = self.done
        for item in self.iterable:
            yield item
            self.done += 1
            now = time.perf_counter()
            if now - last >= self.interval:
                last = now
                self._write((self.done - first) / (now - start) if now > start else 0.0)

    def _write(self, rate: float) -> None:
        of = f"/{self.total}" if self.total is not None else ""
        units = f"{self.unit}es" if self.unit.endswith(("s", "ch", "sh", "x")) else f"{self.unit}s"
        line = f"{self.desc}: {self.done}{of} {units}, {rate:.1f} {units}/s{self.postfix}"
        print(line, file=self.stream or sys.stderr, flush=True)

    def set_postfix(self, refresh: bool = False, **values: Any) -> None:
        self.postfix = "".join(f", {key} {value}" for key, value in values.items())

    def close(self) -> None:
        """Nothing to clear: every line written is whole."""
