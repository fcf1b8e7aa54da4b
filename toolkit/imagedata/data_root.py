"""Where datasets look for their files: the recipe's ``data_dir``, else ``$TOOLKIT_DATA``, else the user's cache."""

from __future__ import annotations

import os
from pathlib import Path

DATA_VARIABLE = "TOOLKIT_DATA"


def default_data_root() -> Path:
    """``$TOOLKIT_DATA``, else the per-user cache folder."""
    if os.environ.get(DATA_VARIABLE):
        return Path(os.environ[DATA_VARIABLE]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "toolkit" / "data"


def data_root(data_dir: str | Path | None = None) -> Path:
    """The folder a dataset reads from: ``data_dir`` when a recipe gives one, else :func:`default_data_root`."""
    return Path(data_dir).expanduser() if data_dir else default_data_root()
