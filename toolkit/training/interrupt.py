"""Ctrl-C during training: finish the current step, save a checkpoint, then stop."""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

log = logging.getLogger("toolkit")


class GracefulStop:
    """A SIGINT handler for one run, used as a context manager around it.

    The first Ctrl-C while training only sets :attr:`requested`; the training loop checks it between steps
    (call the object) and stops at a consistent point that the runner saves. A second Ctrl-C, or one outside
    :meth:`training`, raises ``KeyboardInterrupt`` at once, as Python normally does. Outside the main thread
    (where signals cannot be handled) it does nothing.
    """

    def __init__(self) -> None:
        self.requested = False
        self._training = False
        self._previous: Any = None

    def __enter__(self) -> "GracefulStop":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

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
            log.warning("Ctrl-C: stopping after the current step and saving a checkpoint (press Ctrl-C again to stop at once).")
            return
        raise KeyboardInterrupt
