"""How many pair or triplet members a batch handed to the encoder holds, for layers whose result depends on that."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

_members: ContextVar[int] = ContextVar("toolkit_batch_members", default=1)


def batch_members() -> int:
    """The number of equal, consecutive parts of the batch the encoder is being called with.

    1, except inside a joint forward pass (``run.joint_forward``), where the runner embeds all members of a pair or
    triplet batch at once: first members first, then second members, and so on. A layer that computes batch
    statistics (BatchNorm) can compute them per part, so that the joint pass gives exactly what separate passes
    over each member would give; the built-in CNNs' ``BatchNorm2d`` does.
    """
    return _members.get()


@contextmanager
def joint_members(count: int) -> Iterator[None]:
    """Declare that the batches the encoder sees in this block are ``count`` consecutive members."""
    token = _members.set(count)
    try:
        yield
    finally:
        _members.reset(token)
