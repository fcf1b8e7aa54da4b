"""Writing embeddings for other programs: a NumPy ``.npy`` with ids and labels beside it (CSV, JSON or Parquet)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from toolkit.errors import ToolkitError
from toolkit.runfolder import rundir


def write_embeddings(output: Path, vectors: np.ndarray, ids: list[str], labels: list[int], classes: list[str],
                     ids_format: str = "csv") -> list[Path]:
    """``output`` (``.npy``, row i = item i) and ``<stem>.csv``, ``.json`` (id, label, class per row) or ``.parquet``
    (the same and the vectors); every file written atomically. Returns the paths written."""
    if ids_format == "parquet":
        require_pyarrow()  # before anything is written
    if output.suffix != ".npy":
        output = output.with_name(output.name + ".npy")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def save_npy(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, vectors)

    rundir.write_atomic(output, save_npy)
    rows = [{"row": i, "id": id_, "label": int(label), "class": name} for i, (id_, label, name) in enumerate(zip(ids, labels, classes))]
    side = output.with_suffix(f".{ids_format}")
    if ids_format == "json":
        rundir.write_json(side, rows)
    elif ids_format == "parquet":
        _write_parquet(side, vectors, ids, labels, classes)
    else:
        def save_csv(tmp: Path) -> None:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=["row", "id", "label", "class"])
                writer.writeheader()
                writer.writerows(rows)

        rundir.write_atomic(side, save_csv)
    return [output, side]


def require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ToolkitError("--ids parquet needs pyarrow: `pip install 'metric-toolkit[parquet]'` (or `pip install "
                           "pyarrow`), or write the ids as --ids csv or --ids json.") from None


def _write_parquet(path: Path, vectors: np.ndarray, ids: list[str], labels: list[int], classes: list[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": ids, "label": [int(v) for v in labels], "class": classes,
                      "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
                      if vectors.size else pa.array([], type=pa.list_(pa.float32()))})
    rundir.write_atomic(path, lambda tmp: pq.write_table(table, str(tmp)))
