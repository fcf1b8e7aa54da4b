"""``report.html``: one self-contained page per run folder (every picture inlined), written at the end of a run.

:func:`write_figures` draws what the page needs beyond the evaluators' own plots (a retrieval grid, and an
embedding scatter when no evaluator drew one); :func:`write_report` builds the page from the files in the run
folder alone, so ``toolkit html RUN_DIR`` can write it again at any time.
"""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.evaluation.results import Evaluation
from toolkit.runfolder import files as run_files, rundir
from toolkit.components.contracts import EvalContext
from toolkit.reporting.image_grid import retrieval_grid
from toolkit.reporting.plots import scatter_by_class
from toolkit.reporting.projection import project_2d
from toolkit.environment import describe as describe_environment

QUERIES_IN_GRID = 6
NEIGHBOURS_IN_GRID = 5


def write_figures(context: EvalContext, run_dir: Path, title: str, *, query_split: str, gallery_split: str = "train") -> None:
    """``retrieval_grid.png`` (held-out queries beside their nearest training images) and, when no
    ``embeddings_*.png`` exists yet, ``embeddings_<split>_pca.png``."""
    import faiss

    queries, query_labels = context.embed(query_split)
    query_names = context.dataset.split(query_split).class_names
    gallery_names = context.dataset.split(gallery_split).class_names
    if query_names and gallery_names and not set(query_names) & set(gallery_names):
        gallery_split = query_split  # held-out classes (new people) can only be found among themselves
    gallery, gallery_labels = context.embed(gallery_split)
    names = context.dataset.split(gallery_split).class_names
    leave_out = int(gallery_split == query_split)
    k = min(NEIGHBOURS_IN_GRID, len(gallery) - leave_out)
    if len(queries) and k > 0 and context.dataset.split(query_split).is_image:
        chosen = np.random.default_rng(context.seed).permutation(len(queries))[:QUERIES_IN_GRID]
        index = faiss.IndexFlatL2(gallery.shape[1])
        index.add(np.ascontiguousarray(gallery.numpy(), dtype=np.float32))
        squared, found = index.search(np.ascontiguousarray(queries[chosen].numpy(), dtype=np.float32), k + leave_out)
        query_images = context.dataset.split(query_split).images
        gallery_images = context.dataset.split(gallery_split).images

        def name(label: int, split_names: list[str] | None) -> str:
            return split_names[label] if split_names and label < len(split_names) else str(label)

        rows = [(query_images[q], f"{query_split} #{q}\n{name(int(query_labels[q]), query_names)}") for q in chosen]
        neighbours = []
        for r, q in enumerate(chosen):
            hits = [(j, d) for j, d in zip(found[r], squared[r]) if not (leave_out and j == q)][:k]
            own = name(int(query_labels[q]), query_names)
            neighbours.append([(gallery_images[j], name(int(gallery_labels[j]), names), float(np.sqrt(max(d, 0.0))),
                                name(int(gallery_labels[j]), names) == own) for j, d in hits])
        retrieval_grid(rows, neighbours, run_dir / rundir.RETRIEVAL_PLOT,
                       f"{title}: {query_split} queries and their {k} nearest {gallery_split} images (red = other class)")
    if not any(run_dir.glob("embeddings_*.png")) and len(queries) > 2:
        points = project_2d(queries.double().numpy())
        scatter_by_class(points, query_labels.numpy(), run_dir / f"embeddings_{query_split}_pca.png",
                         f"PCA of {queries.shape[1]}-D embeddings, {query_split} split ({len(queries)} points)", query_names)


IMAGE_TYPES = {".png": "image/png", ".gif": "image/gif"}


def _image_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:{IMAGE_TYPES[path.suffix.lower()]};base64,{data}" alt="{html.escape(alt)}">'


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_number(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } .meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; } td, th { border: 1px solid #ccc; padding: 3px 10px; }
th { background: #f0f0f0; text-align: left; } td { font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.3em 0; }
.row { display: flex; flex-wrap: wrap; gap: 0 2em; align-items: flex-start; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 0 1.5em; }
.figures .wide { grid-column: 1 / -1; } .figures h2, .row h2 { font-size: 1.1em; margin: 0.6em 0 0.2em; } pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
.status-finished { color: #1a7f37; } .status-failed { color: #cf222e; } .status-interrupted { color: #9a6700; }
"""


def render_report(run_dir: Path) -> str:
    """The HTML of a run folder's report."""
    metrics, status, threshold = (run_files.as_dict(read(run_dir)) for read in
                                  (run_files.read_metrics, run_files.read_status, run_files.read_threshold))
    evaluation = Evaluation.from_metrics(metrics)
    recipe_text = run_files.read_text(run_dir / rundir.RECIPE_FILE) if (run_dir / rundir.RECIPE_FILE).is_file() else ""
    name = metrics.get("recipe") or status.get("recipe") or run_dir.name
    state = str(status.get("status", "unknown"))
    parts = [f"<h1>{html.escape(str(name))}</h1>",
             f'<p class="meta">{html.escape(str(run_dir))} · <span class="status-{html.escape(state)}">{html.escape(state)}</span>'
             f" · {html.escape(str(status.get('time', '')))}"
             + (f" · training {metrics['train_seconds']:.1f} s on {html.escape(str(metrics.get('device')))}" if metrics.get("train_seconds") is not None else "")
             + "</p>"]
    rows: list[list[Any]] = [[name, value] for name, value in evaluation.flat().items()]
    if threshold:
        rows += [["threshold (same if distance ≤)", threshold["threshold"]],
                 [f"its accuracy on the {threshold['pairs']} {threshold['split']} pairs it was chosen on", threshold["accuracy"]],
                 [f"its accuracy on {threshold['held_out_pairs']} other {threshold['split']} pairs", threshold["held_out_accuracy"]]]
    tables = ["<div><h2>Metrics</h2>" + (_table(["metric", "value"], rows) if rows else "<p>No metrics (the run did not finish).</p>")
              + "</div>"]
    epochs = metrics.get("epochs") or []
    if epochs:
        tables.append("<div><h2>Training</h2>" + _table(
            ["epoch", "mean loss", "seconds", "images/s", "learning rate", "non-finite steps"],
            [[e["epoch"], e["loss"], e["seconds"], round(e["images_per_second"]), f"{e['lr']:.3g}", e["bad_steps"]]
             for e in epochs]) + "</div>")
    parts.append('<div class="row">' + "".join(tables) + "</div>")
    figures = [("Loss curve", run_dir / rundir.LOSS_PLOT),
               ("Distances of positive and negative pairs", run_dir / rundir.PAIR_DISTANCES_PLOT)]
    figures += [("Embeddings", p) for p in sorted(run_dir.glob("embeddings_*_pca.png"))]
    figures += [(name, run_dir / path) for name, path in evaluation.flat_artifacts().items()
                if Path(path).suffix.lower() in IMAGE_TYPES]
    figures += [("Retrieval", run_dir / rundir.RETRIEVAL_PLOT)]
    wide = {run_dir / rundir.RETRIEVAL_PLOT}

    def figure(heading: str, path: Path) -> str:
        css = ' class="wide"' if path in wide else ""
        return f"<div{css}><h2>{html.escape(heading)}</h2>{_image_tag(path, path.name)}</div>"

    parts.append('<div class="figures">' + "".join(figure(h, p) for h, p in figures if p.is_file()) + "</div>")
    files = [[name, path] for name, path in evaluation.flat_artifacts().items()]
    if files:
        parts += ["<h2>Files written by the evaluators</h2>", _table(["name", "path in the run folder"], files)]
    if metrics.get("environment"):  # below the pictures: the first screen shows results
        parts += ["<h2>What ran</h2>", _table(["what", "value"], describe_environment(metrics["environment"]))]
    if recipe_text:
        parts += ["<h2>Recipe</h2>", f"<pre>{html.escape(recipe_text, quote=False)}</pre>"]
    parts.append(f'<p class="meta">Written {time.strftime("%Y-%m-%d %H:%M:%S")} by toolkit.</p>')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(str(name))} · toolkit run</title>'
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def write_report(run_dir: Path) -> Path:
    """Write ``report.html`` atomically; returns its path."""
    path = run_dir / rundir.REPORT_FILE
    page = render_report(run_dir)
    rundir.write_atomic(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return path
