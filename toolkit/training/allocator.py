"""Keep freed memory in the process for reuse instead of handing it back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_LARGEST_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc refuses more on 64-bit systems
_TRIM_THRESHOLD = 1024 * 1024 * 1024


@functools.cache
def keep_freed_memory() -> bool:
    """Tell glibc's allocator to reuse freed blocks for the next tensors instead of returning them to the system.

    A training step allocates and frees the same few-megabyte activations and gradients hundreds of times per
    epoch; by default glibc serves each from fresh pages of the operating system, so every step pays for mapping
    and zeroing memory it just gave back. Blocks of up to 32 MiB stay on the heap, which is trimmed only beyond
    1 GiB of free space. Peak memory is unchanged; memory freed at the end of a run may stay with the process until
    it exits.

    Returns whether the settings took effect (only with glibc; elsewhere nothing changes).
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _LARGEST_MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
