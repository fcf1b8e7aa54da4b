"""A table (CSV or Parquet) of image paths and labels, with an optional split column: the standard protocols."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from toolkit.api import data_root, DATA_VARIABLE, Dataset, files_dataset, ImageFiles, ToolkitError

from .reading import Mean, Size, Std, loading, with_reading_args

SPLITS = ("train", "test", "query", "gallery")
"""Values of the split column: ``query`` and ``gallery`` are the two sides of a retrieval test (In-shop)."""


@with_reading_args
def image_table(*, table: str, root: str | None = None, data_dir: str | None = None,
                train_classes: Annotated[int, Field(ge=2)] | None = None, test_classes: list[str] | None = None,
                size: Size | None = None, channels: Literal[1, 3] = 3, normalize: bool = False,
                mean: Mean = 0.5, std: Std = 0.5, on_bad_image: Literal["error", "skip"] = "error",
                load: Literal["cache", "memory", "stream"] = "cache", cache_dir: str | None = None,
                workers: Annotated[int, Field(ge=0)] = 2) -> Dataset:
    """Images listed in a table: CSV or Parquet with the columns ``path``, ``label`` and optionally ``split``.

    With a ``split`` column each row says its split: ``train``, ``test``, ``query`` or ``gallery`` (evaluate
    with ``knn`` ``query = "query"``, ``gallery = "gallery"``). Without one, whole classes are held out for
    ``test``: the first ``train_classes`` classes train (the CUB-200, Cars196 and Stanford Online Products
    protocol; classes are ordered by label, numbers numerically), or the classes named in ``test_classes``
    are tested. The training split numbers its own classes; the other splits share one numbering.

    Args:
        table: the CSV (``.csv``) or Parquet (``.parquet``, needs ``pyarrow``) file. A relative path is read from
            the current folder when it is there, else from the data root.
        root: the folder the ``path`` column is relative to (default: the table's folder). A relative ``root``
            is read from the data root (``data_dir``, else ``$TOOLKIT_DATA``).
        data_dir: data root for relative paths.
        train_classes: without a split column, train on the first this many classes and test on the others.
        test_classes: without a split column, the labels of the classes held out for testing.
    """
    path = _find_table(table, data_dir)
    base = path.parent if root is None else _under_data_root(root, data_dir)
    splits = _assign_splits(read_rows(path), path, train_classes, test_classes)
    reading = loading(locals())
    return files_dataset(path.stem, [s for s in SPLITS if s in splits],
                         lambda: {s: _files_of(splits, s, base, path) for s in splits}, reading)


def _find_table(table: str, data_dir: str | None) -> Path:
    path = Path(table).expanduser()
    if not path.is_absolute() and not path.is_file():
        path = data_root(data_dir) / path
    if not path.is_file():
        raise ToolkitError(
            f"The image table {table!r} (dataset.table) does not exist: looked in the current folder and at {path}. "
            f"Give the path of a CSV or Parquet file with the columns path and label; a relative path is read from "
            f"the current folder, else from the data root (dataset.data_dir, else ${DATA_VARIABLE})."
        )
    return path


def _under_data_root(folder: str, data_dir: str | None) -> Path:
    path = Path(folder).expanduser()
    return path if path.is_absolute() else data_root(data_dir) / path


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The table's rows as dicts, each with ``row``: its line in a CSV file (header = 1), its number in Parquet."""
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ToolkitError(f"Reading the Parquet table {path} needs pyarrow: `pip install pyarrow`, or give a CSV "
                               "file.") from None
        rows = [{**r, "row": i + 1} for i, r in enumerate(pq.read_table(path).to_pylist())]
        columns = set(pq.read_schema(path).names)
    else:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [{**r, "row": reader.line_num} for r in reader]
            columns = set(reader.fieldnames or ())
    missing = [c for c in ("path", "label") if c not in columns]
    if missing:
        raise ToolkitError(f"The image table {path} has no {' or '.join(missing)} column (its columns: "
                           f"{', '.join(sorted(columns)) or 'none'}). Its first line must name the columns path, label "
                           "and optionally split.")
    if not rows:
        raise ToolkitError(f"The image table {path} has no rows. Add one row per image: path,label[,split].")
    for r in rows:
        for key in ("path", "label"):
            if r.get(key) is None or not str(r[key]).strip():
                raise ToolkitError(f"{path} row {r['row']}: the {key} is empty. Give every row an image path and a "
                                   "class label, or remove the row.")
        r["label"] = str(r["label"]).strip()
    return rows


def _assign_splits(rows: list[dict[str, Any]], path: Path, train_classes: int | None,
                   test_classes: list[str] | None) -> dict[str, list[dict[str, Any]]]:
    if any(r.get("split") not in (None, "") for r in rows):
        if train_classes is not None or test_classes is not None:
            raise ToolkitError(f"The image table {path} has a split column, so dataset.train_classes and "
                               "dataset.test_classes do not apply. Remove them, or remove the split column.")
        return _split_column(rows, path)
    classes = sorted({r["label"] for r in rows}, key=_natural)
    if (train_classes is None) == (test_classes is None):
        raise ToolkitError(f"The image table {path} has no split column: give dataset.train_classes = N (the first N "
                           "of its classes train, the others test) or dataset.test_classes = [labels held out], one of "
                           "the two.")
    if test_classes is not None:
        unknown = sorted(set(map(str, test_classes)) - set(classes))
        if unknown:
            raise ToolkitError(f"dataset.test_classes names {', '.join(map(repr, unknown))}, which no row of {path} has "
                               f"as its label. Its labels include {', '.join(map(repr, classes[:5]))}.")
        held = set(map(str, test_classes))
    else:
        if not 2 <= train_classes <= len(classes) - 2:  # type: ignore[operator]
            raise ToolkitError(f"dataset.train_classes = {train_classes}, but {path} has {len(classes)} classes; each "
                               "split needs at least two. Lower train_classes.")
        held = set(classes[train_classes:])
    return {"train": [r for r in rows if r["label"] not in held], "test": [r for r in rows if r["label"] in held]}


def _split_column(rows: list[dict[str, Any]], path: Path) -> dict[str, list[dict[str, Any]]]:
    splits: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        split = str(r.get("split") or "").strip()
        if split not in SPLITS:
            raise ToolkitError(f"{path} row {r['row']}: the split {split!r} is not one of {', '.join(SPLITS)}. Fix the "
                               "row's split value.")
        splits.setdefault(split, []).append(r)
    if "train" not in splits:
        raise ToolkitError(f"No row of {path} has the split train; the toolkit needs training images.")
    return splits


def _files_of(splits: dict[str, list[dict[str, Any]]], split: str, base: Path, table: Path) -> tuple[ImageFiles, list[str]]:
    """A split's files and class names: training numbers its own classes, the held-out splits share a numbering."""
    together = [split] if split == "train" else [s for s in splits if s != "train"]
    names = sorted({r["label"] for s in together for r in splits[s]}, key=_natural)
    number = {name: i for i, name in enumerate(names)}
    rows = splits[split]
    files = ImageFiles([base / str(r["path"]).strip() for r in rows], [number[r["label"]] for r in rows],
                       [f"{table} row {r['row']}" for r in rows])
    return files, names


def _natural(label: str) -> tuple:
    """Labels in reading order: ``2`` before ``10``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", label) if part)
