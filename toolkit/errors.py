"""The one exception type for mistakes a user can fix."""

from __future__ import annotations


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
