"""The one exception type for mistakes a user can fix."""

from __future__ import annotations

import difflib
from typing import Callable, Iterable


class ToolkitError(Exception):
    """A problem with the user's input: a recipe, a data folder, a plugin, a run folder.

    The command line prints its message as one paragraph and exits with ``exit_code`` (2), without a
    traceback. Anything else that escapes is a bug in the toolkit or a plugin.
    """

    exit_code = 2


class RunInterrupted(ToolkitError):
    """The user stopped a run (Ctrl-C); the message says what was saved and how to resume.

    Exits with 130, the shell's code for a process stopped by SIGINT.
    """

    exit_code = 130


def did_you_mean(word: str, choices: Iterable[str], *, n: int = 3, cutoff: float = 0.5,
                 show: Callable[[str], str] = repr) -> str:
    """The hint every unknown name gets: `` Did you mean 'a' or 'b'?`` for the choices close to ``word``, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)
    return f" Did you mean {' or '.join(show(c) for c in close)}?" if close else ""
