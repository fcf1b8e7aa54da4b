"""Commands that check or use a model run without the garbage collector's automatic passes.

Importing torch and torchvision creates several hundred thousand Python objects that live as long as the process.
Each automatic pass of the cyclic garbage collector over the oldest generation walks all of them, and such
passes come every few tens of thousands of new objects: during those imports, and again while a recipe check lists
a folder of 70,000 images. These commands are short and make their data in tensors and lists, which reference
counting frees without the collector, so they pause it for their whole run and start it again when they return
(as they do inside a test's process).

When the command is the last thing the process does (the ``toolkit`` program, :func:`ending_the_process`), the
objects are frozen out of collection instead of walked once more: the pass on return, and the one Python makes
as it exits, would only find torch's modules, which the exit frees anyway. Every file a command writes is
closed before it returns.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

_process_ends_after_command = False


def ending_the_process() -> None:
    """Say that the process ends when the command returns (called by the ``toolkit`` program)."""
    global _process_ends_after_command
    _process_ends_after_command = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic garbage-collection pass inside the block; the collector runs as before after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _process_ends_after_command:
            gc.freeze()
        if was_enabled:
            gc.enable()
