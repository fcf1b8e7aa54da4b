"""Commands that use a finished run: embed, compare, index, search, export, report, and listing runs.

Each command is thin: it parses options, calls the module that does the work (:mod:`toolkit.model.trained`,
:mod:`toolkit.model.search`, :mod:`toolkit.model.export`, :mod:`toolkit.runfolder.runs`, :mod:`toolkit.reporting.report`) and prints.
"""

from __future__ import annotations

import functools
import json
import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from toolkit.cli.collector import collector_paused
from toolkit.errors import ToolkitError

RUN_DIR = click.argument("run_dir", type=click.Path(file_okay=False))


def _note(message: str | None) -> None:
    if message:
        click.echo(click.style("Note: ", fg="yellow", bold=True) + message, err=True)


def _never_compiles(command: Callable[..., None]) -> Callable[..., None]:
    """A command that uses a model and never compiles one imports torchvision without torch's compiler
    (:mod:`toolkit.cli.deferred_compiler`, imported here only when the command runs), and runs without the
    garbage collector's automatic passes (:mod:`toolkit.cli.collector`)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        with collector_paused():
            from toolkit.cli.deferred_compiler import compiler_deferred

            with compiler_deferred():
                command(*args, **kwargs)

    return run


def _read_images(model, paths: list[Path], progress: bool = False):
    pixels, conversions = model.transform.read(paths, progress=progress)
    from toolkit.imagedata.transform import describe_conversions

    _note(describe_conversions(paths, conversions, model.transform))
    return pixels


@click.command()
@RUN_DIR
@click.option("--dataset", "split", default=None, metavar="SPLIT", help="Embed a split of the run's dataset (train, test).")
@click.option("--images", multiple=True, metavar="PATH", help="Image files or folders (repeat --images, or list more "
              "paths after RUN_DIR); a folder of class sub-folders labels each image with its folder.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="vectors.npy to write (ids beside it).")
@click.option("--ids", "ids_format", type=click.Choice(["csv", "json", "parquet"]), default="csv", show_default=True,
              help="Format of the ids/labels file written beside the vectors; parquet holds the vectors too (needs pyarrow).")
@click.option("--batch-size", default=1024, show_default=True, type=click.IntRange(min=1))
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.argument("more_images", nargs=-1, type=click.Path(), metavar="[IMAGES]...")
@_never_compiles
def embed(run_dir: str, split: str | None, images: tuple[str, ...], output: str, ids_format: str, batch_size: int,
          quiet: bool, more_images: tuple[str, ...]) -> None:
    """Write the embeddings of a dataset split or of image files: a .npy of vectors, plus ids and labels
    (CSV, JSON, or Parquet with the vectors)."""
    from toolkit.model.embeddings import write_embeddings
    from toolkit.imagedata.images import gather_images
    from toolkit.model.trained import load_run

    paths = [*images, *more_images]
    if ids_format == "parquet":
        from toolkit.model.embeddings import require_pyarrow

        require_pyarrow()
    if (split is None) == (not paths):
        raise ToolkitError("Give either --dataset SPLIT (a split of the run's dataset, e.g. test) or --images PATH..., not both or neither.")
    model = load_run(run_dir)
    if split is not None:
        image_set = model.split(split)
        ids = [f"{split}:{i}" for i in range(len(image_set))]
        names = image_set.class_names or [str(c) for c in range(image_set.num_classes)]
        labels = image_set.labels.tolist()
        classes = [names[c] if c < len(names) else str(c) for c in labels]
    else:
        found = gather_images(paths)
        files = [p for p, _ in found]
        pixels = _read_images(model, files, progress=not quiet)
        image_set = model.transform.image_set(pixels)
        ids = [str(p) for p in files]
        named = sorted({c for _, c in found if c is not None})
        labels = [named.index(c) if c is not None else -1 for _, c in found]
        classes = [c or "" for _, c in found]
    started = time.perf_counter()
    vectors = model.embed(image_set, batch_size=batch_size, progress=not quiet)
    written = write_embeddings(Path(output), vectors.numpy(), ids, labels, classes, ids_format)
    click.echo(f"{len(ids)} embeddings of dimension {vectors.shape[1] if vectors.ndim == 2 else 0} in "
               f"{time.perf_counter() - started:.1f}s: " + ", ".join(str(p) for p in written))


@click.command()
@RUN_DIR
@click.argument("image_a", type=click.Path())
@click.argument("image_b", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_never_compiles
def compare(run_dir: str, image_a: str, image_b: str, as_json: bool) -> None:
    """Distance between two images' embeddings, and whether they show the same thing under the run's
    calibrated threshold."""
    from toolkit.model.python_api import load_run

    model = load_run(run_dir)
    with _warnings_as_notes():
        result = model.compare(Path(image_a), Path(image_b))
    calibration = model.trained.threshold
    if as_json:
        click.echo(json.dumps({"image_a": image_a, "image_b": image_b, **_finite_distance(result.distance, "distance"),
                               "verdict": result.verdict, "threshold": _rounded(result.threshold),
                               "threshold_accuracy": None if calibration is None else _rounded(calibration["held_out_accuracy"])}))
        return
    if not math.isfinite(result.distance):
        click.echo(f"distance {result.distance} ({NOT_FINITE})")
        return
    if calibration is None:
        click.echo(f"distance {result.distance:.4f} (no calibrated threshold in {run_dir}: its held-out split had no "
                   "pairs of both kinds, so there is no same/different verdict)")
        return
    click.echo(f"distance {result.distance:.4f} → {result.verdict}  (threshold {result.threshold:.4f}, "
               f"{calibration['held_out_accuracy']:.1%} accurate on held-out {calibration['split']} pairs)")


NOT_FINITE = "the encoder's output is not a finite number: its weights hold NaN or infinity, so the run cannot compare"


def _finite_distance(distance: float, key: str) -> dict[str, Any]:
    """``{key: distance}`` for JSON, which has no NaN: null with the reason when the distance is not finite."""
    return {key: distance} if math.isfinite(distance) else {key: None, "reason": NOT_FINITE}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)  # stored as float32: digits beyond 6 are noise


@contextmanager
def _warnings_as_notes() -> Iterator[None]:
    """The Python API warns about converted images; a command prints the same sentence as a note."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        yield
    for warning in caught:
        _note(str(warning.message))


def _gallery_source(gallery: str | None, split: str | None) -> str:
    from toolkit.model.search import folder_source, split_source

    if gallery and split:
        raise ToolkitError("Give --gallery DIR or --split NAME, not both.")
    if gallery:
        if not Path(gallery).is_dir():
            raise ToolkitError(f"The gallery folder {gallery!r} does not exist (or is not a folder). Give a folder of images, "
                               "or of one sub-folder of images per class.")
        return folder_source(gallery)
    return split_source(split or "train")


GALLERY = click.option("--gallery", default=None, type=click.Path(), metavar="DIR",
                       help="A folder of images (or of class sub-folders) to search instead of a dataset split.")
SPLIT = click.option("--split", default=None, metavar="NAME", help="Split of the run's dataset to search (default: train).")
INDEX = click.option("--index", "index_kind", type=click.Choice(["auto", "flat", "ivf", "hnsw"]), default="auto",
                     show_default=True, help="faiss index: flat (exact), ivf or hnsw (approximate); auto: flat up to "
                     "250,000 gallery items, ivf above.")
CHUNK_ROWS = click.option("--chunk-rows", default=100_000, show_default=True, type=click.IntRange(min=1),
                          help="A larger gallery is embedded into a memory-mapped file and indexed this many rows at a time.")


@click.command()
@RUN_DIR
@GALLERY
@SPLIT
@INDEX
@CHUNK_ROWS
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_never_compiles
def index(run_dir: str, gallery: str | None, split: str | None, index_kind: str, chunk_rows: int, quiet: bool) -> None:
    """Embed the gallery once and save its faiss index in the run folder, for `toolkit search`."""
    from toolkit.model.faiss_index import IndexChoice
    from toolkit.model.search import build_gallery, index_kind as index_kind_of, save_gallery, saved_index_description
    from toolkit.model.trained import load_run

    source = _gallery_source(gallery, split)
    model = load_run(run_dir)
    started = time.perf_counter()
    built, note = build_gallery(model, source, progress=not quiet, choice=IndexChoice(index_kind), chunk_rows=chunk_rows)
    _note(note)
    replaced = saved_index_description(model.run_dir)
    save_gallery(built, model.run_dir)
    kind = index_kind_of(built.index)
    if replaced:
        _note(f"Replaced the saved {replaced} with this {kind} index of {len(built)} items ({source}).")
    click.echo(f"Indexed {len(built)} gallery items ({source}) in a {kind} index in {time.perf_counter() - started:.1f}s: "
               f"{model.run_dir / 'gallery.faiss'}")


@click.command()
@RUN_DIR
@click.argument("queries", nargs=-1, required=True, type=click.Path())
@click.option("--k", "k", default=5, show_default=True, type=int, help="Neighbours per query.")
@GALLERY
@SPLIT
@INDEX
@CHUNK_ROWS
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False),
              help="Picture grid to write, each query beside its neighbours (default: search.png in the run folder).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_never_compiles
def search(run_dir: str, queries: tuple[str, ...], **options: Any) -> None:
    """Find the k nearest gallery items of each QUERY image (files or folders; a query in a class folder named
    after a gallery class or its number, such as queries/Coat/a.png or queries/4/a.png, is checked against it)."""
    from toolkit.imagedata.images import gather_images
    from toolkit.reporting.image_grid import retrieval_grid
    from toolkit.model.search import nearest, unmatched_class_folders
    from toolkit.model.trained import load_run

    o = SearchOptions(**options)
    if o.k < 1:
        raise ToolkitError(f"--k must be at least 1, got {o.k}.")
    source = _gallery_source(o.gallery, o.split)
    model = load_run(run_dir)
    picture = Path(o.output) if o.output else model.run_dir / "search.png"
    found = gather_images(list(queries))
    pixels = _read_images(model, [p for p, _ in found])
    vectors = model.embed(model.transform.image_set(pixels))
    saved = _saved_or_built_gallery(model, source, o, run_dir)
    distances, positions = nearest(saved, vectors, o.k)
    _note(unmatched_class_folders(saved, found))
    results, rows, grid = _search_results(model, saved, found, pixels, distances, positions)
    retrieval_grid(rows, grid, picture, f"{model.run_dir.name}: {o.k} nearest in {source.partition(':')[2]} "
                   f"({len(saved)} items; red = other class)")
    if o.as_json:
        click.echo(json.dumps({"gallery": source, "k": o.k, "picture": str(picture), "results": results}, indent=2))
        return
    for result in results:
        label = f" ({result['label']})" if result["label"] else ""
        click.echo(f"{result['query']}{label}")
        for n in result["neighbours"]:
            mark = "  ✗ other class" if n["correct"] is False else ""
            distance = "nan" if n["distance"] is None else f"{n['distance']:.4f}"
            click.echo(f"  {n['rank']:>3}. {distance:>6}  {n['label']:<12} {n['id']}{mark}")
    click.echo(f"Picture: {picture}")


@dataclass
class SearchOptions:
    """The options of `toolkit search` besides the run folder and the queries."""

    k: int
    gallery: str | None
    split: str | None
    index_kind: str
    chunk_rows: int
    output: str | None
    as_json: bool
    quiet: bool


def _saved_or_built_gallery(model, source: str, o: SearchOptions, run_dir: str):
    """The index `toolkit index` saved for ``source``, else the gallery embedded now, with a note on how to save it."""
    from toolkit.model.faiss_index import IndexChoice
    from toolkit.model.search import build_gallery, load_saved_gallery

    saved, why = load_saved_gallery(model.run_dir, source, o.index_kind)
    if saved is not None:
        return saved
    started = time.perf_counter()
    saved, note = build_gallery(model, source, progress=not (o.as_json or o.quiet), choice=IndexChoice(o.index_kind),
                                chunk_rows=o.chunk_rows)
    _note(note)
    _note(f"Embedded the gallery ({len(saved)} items, {source}) in {time.perf_counter() - started:.1f}s ({why}); "
          f"`toolkit index {run_dir}{' --gallery ' + o.gallery if o.gallery else ''}{' --split ' + o.split if o.split else ''}"
          f"{' --index ' + o.index_kind if o.index_kind != 'auto' else ''}` saves it for later searches.")
    return saved


def _search_results(model, saved, found, pixels, distances, positions):
    """Per query: its result for printing, its picture and caption, and its neighbours' pictures for the grid."""
    from toolkit.model.search import gallery_image, query_label

    results, rows, grid = [], [], []
    for q, ((path, given), row_d, row_p) in enumerate(zip(found, distances, positions)):
        own = query_label(saved, path, given)
        neighbours = [{"rank": r + 1, "id": saved.ids[int(p)], "label": saved.label_name(int(p)), **_finite_distance(round(float(d), 6), "distance"),
                       "correct": None if own is None else bool(saved.labels[int(p)] == own)}
                      for r, (d, p) in enumerate(zip(row_d, row_p))]
        results.append({"query": str(path), "label": None if own is None else saved.class_names[own], "neighbours": neighbours})
        rows.append((pixels[q], f"{path.name}" + (f"\n{saved.class_names[own]}" if own is not None else "")))
        grid.append([(gallery_image(model, saved, int(p)), n["label"], float(d), n["correct"])
                     for n, p, d in zip(neighbours, row_p, row_d)])
    return results, rows, grid


@click.command(name="export")
@RUN_DIR
@click.option("--format", "fmt", type=click.Choice(["torch-export", "onnx", "torchscript"]), default="torch-export",
              show_default=True, help="torch-export: a torch.export .pt2 archive (recommended); onnx: for ONNX Runtime "
              "and other runtimes; torchscript: for older PyTorch versions (deprecated in PyTorch).")
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False),
              help="File to write (default: encoder.pt2, encoder.onnx or encoder.torchscript.pt in the run folder).")
def export_command(run_dir: str, fmt: str, output: str | None) -> None:
    """Export the run's encoder with torch.export, as ONNX or as TorchScript, checked against PyTorch on a batch."""
    from toolkit.model.export import export
    from toolkit.model.trained import load_run

    model = load_run(run_dir)
    result = export(model, fmt, Path(output) if output else None)
    t = model.transform
    click.echo(f"Wrote {result.path} ({fmt}); outputs match PyTorch on a batch of {result.batch} images "
               f"(largest difference {result.max_difference:.2g}). Input: float images (N, {t.channels}, {t.height}, "
               f"{t.width}), {t.formula}.")


@click.command()
@RUN_DIR
def html(run_dir: str) -> None:
    """Write the run folder's report.html again (a run writes it when it finishes)."""
    from toolkit.runfolder import rundir
    from toolkit.reporting.report import write_report

    folder = Path(run_dir)
    if not rundir.is_run_dir(folder):
        raise ToolkitError(f"There is no run folder at {run_dir!r} (no {rundir.RECIPE_FILE} with {rundir.STATUS_FILE} or "
                           f"{rundir.CHECKPOINT_FILE} in it). Give a folder `toolkit run` wrote.")
    click.echo(f"Wrote {write_report(folder)}")


@click.command()
@click.argument("root", default="runs", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def runs(root: str, as_json: bool) -> None:
    """List the run folders under ROOT (default: runs/) with recipe, status, date and headline metric."""
    from toolkit.runfolder.runs import summarise_runs_under

    if not Path(root).is_dir():
        raise ToolkitError(f"There is no folder {root!r} to list runs in. Runs go to runs/ in the current folder unless "
                           "run.output or --output says otherwise; give that folder.")
    skipped: list[str] = []
    found = summarise_runs_under(Path(root), skipped)
    for reason in skipped:
        _note(f"left out: {reason}")
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in found], indent=2))
        return
    if not found:
        click.echo(f"No run folders under {root}.")
        return
    width = max(len(r.path) for r in found)
    click.echo(f"{'run folder':<{width}}  {'recipe':<18} {'status':<12} {'date':<19}  headline metric")
    for r in found:
        metric = f"{r.metric} {r.value:.4f}" if r.metric else "-"
        click.echo(f"{r.path:<{width}}  {r.recipe:<18} {r.status:<12} {r.date:<19}  {metric}")


COMMANDS = [embed, compare, index, search, export_command, html, runs]
