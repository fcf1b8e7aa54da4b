"""Where a run folder's recipe may send the toolkit to read data: a run folder may come from someone else.

A command that uses a finished run (``embed``, ``search``, ``compare``...) reads the run's dataset only inside the
data root (``$TOOLKIT_DATA``), the run folder or the current folder, so a tampered ``recipe.toml`` cannot make it
list or read ``/etc``. Symbolic links in the data root are the user's own and are followed (a run folder's are not).
Paths the command line names are the user's own choice and are not checked here.
"""

from __future__ import annotations

import os
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.imagedata.data_root import DATA_VARIABLE, default_data_root
from toolkit.recipes.recipe import Recipe

PATH_KEYS = ("data_dir", "folder", "root", "path")
"""Dataset parameters that name where files are read (and any ending in ``_dir``, ``_folder`` or ``_path``)."""


def _is_path_key(key: str) -> bool:
    return key in PATH_KEYS or key.endswith(("_dir", "_folder", "_path"))


def check_data_paths(recipe: Recipe, run_dir: Path) -> None:
    """Refuse a dataset path in ``run_dir``'s recipe that leads outside the places a run's data may be."""
    data_root = default_data_root().expanduser()
    allowed = [r.expanduser().resolve() for r in (data_root, run_dir, Path.cwd())]
    as_written = [_normal(data_root), allowed[0]]  # the user's own symbolic links in the data root are followed
    for key, value in recipe.dataset.params.items():
        if not (_is_path_key(key) and isinstance(value, str) and value):
            continue
        given = Path(value).expanduser()
        places = [given] if given.is_absolute() else [root / given for root in allowed]
        outside = next((p.resolve() for p in places
                        if not (_within(_normal(p), as_written) or _within(p.resolve(), allowed))), None)
        if outside is not None:
            raise ToolkitError(
                f"{run_dir / 'recipe.toml'} reads its dataset from dataset.{key} = {value!r} ({outside}), outside the "
                f"data root ({allowed[0]}), the run folder and the current folder. A run folder may come from "
                f"someone else, so nothing there was read. If the data is yours, set {DATA_VARIABLE} to a folder "
                "that holds it (or run the command from a folder above it)."
            )


def _normal(path: Path) -> Path:
    """``path`` made absolute with ``..`` taken out, symbolic links left as they are."""
    return Path(os.path.normpath(path.absolute()))


def _within(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


