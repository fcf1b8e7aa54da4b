"""Ctrl-C or SIGTERM during training: finish the current step, save a checkpoint, then stop."""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

log = logging.getLogger("toolkit")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """A SIGINT and SIGTERM handler for one run, used as a context manager around it.

    SIGTERM is what schedulers and containers send before they kill a process, so it is treated as Ctrl-C.
    The first Ctrl-C while training only sets :attr:`requested`; the training loop checks it between steps
    (call the object) and stops at a consistent point that the runner saves. A second Ctrl-C, or one outside
    :meth:`training`, raises ``KeyboardInterrupt`` at once, as Python normally does. Outside the main thread
    (where signals cannot be handled) it does nothing.
    """

    def __init__(self) -> None:
        self.requested = False
        self._training = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "GracefulStop":
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous = {}

    def __call__(self) -> bool:
        return self.requested

    @contextmanager
    def training(self) -> Iterator[None]:
        """While inside, the first Ctrl-C asks for a stop instead of raising."""
        self._training = True
        try:
            yield
        finally:
            self._training = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self._training and not self.requested:
            self.requested = True
            log.warning("%s: stopping after the current step and saving a checkpoint (press Ctrl-C again to stop at once).",
                        "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name)
            return
        raise KeyboardInterrupt
