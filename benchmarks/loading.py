"""Loading speed and memory of a folder of images: the prepared cache and streaming against torchvision's ImageFolder.

    .venv/bin/python benchmarks/loading.py loaders FOLDER [--size 64] [--workers 2] [--batches 200] [--rounds 3]
    .venv/bin/python benchmarks/loading.py train FOLDER [--recipe recipes/fashion_folder.toml] [--epochs 1]
    .venv/bin/python benchmarks/loading.py loaders --smoke

``loaders``: the time to prepare the cache, then images per second of one epoch's shuffled batches
(``ImageSet.batch``: uint8 gather, float conversion) read from the cache, streamed by ``--workers``
DataLoader workers (``load = "stream"``), and read by ``torchvision.datasets.ImageFolder`` + PIL +
``DataLoader`` with the same workers; all deliver float batches of ``--size`` px grey images. Streaming and
ImageFolder take turns ``--rounds`` times, so that other work on the machine weighs on both alike.
``train``: ``toolkit run`` of the recipe on FOLDER from the cache and with the images decoded into memory
(``dataset.load = "memory"``): training images per second of the first epoch and the peak RSS of each run.
FOLDER holds one sub-folder per class (``benchmarks/make_image_folder.py`` writes Fashion-MNIST so).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from toolkit.api import ImageReader, ImageSet, load_images
from toolkit_plugins.datasets.image_folder import class_folders, list_classes

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"cache / ImageFolder": 3.0, "train cache / in-memory": 1 / 1.15}
MIB = 1024 ** 2


def open_folder(folder: Path, load: str, args: argparse.Namespace, cache_dir: Path) -> tuple[ImageSet, float]:
    """The folder's images through ``load_images`` (``cache`` or ``stream``) and the seconds it took (preparing the
    cache; for streaming, checking every file's header)."""
    files = list_classes(class_folders(folder, "FOLDER"))
    started = time.perf_counter()
    loaded = load_images(files, ImageReader(channels=1, size=(args.size, args.size)), name=folder.name, load=load,
                         cache_dir=cache_dir, workers=args.workers)
    return ImageSet(loaded.images, loaded.labels), time.perf_counter() - started


def toolkit_speed(images: ImageSet, args: argparse.Namespace, seed: int = 0) -> float:
    """Images/s of shuffled float batches (``ImageSet.batch``) of one epoch's first ``args.batches`` batches, planned
    ahead as the runner plans them when the images are streamed."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    batches = [order[i:i + args.batch] for i in range(0, len(order), args.batch)][:args.batches + 1]
    if hasattr(images.images, "plan"):
        images.images.plan(batches)
    for step, batch in enumerate(batches):
        if step == 1:  # leave out the first batch: the workers' start-up
            started = time.perf_counter()
        images.batch(batch)
    seen = sum(len(b) for b in batches[1:])
    return seen / (time.perf_counter() - started)


def image_folder_speed(folder: Path, size: int, batch: int, batches: int, workers: int) -> float:
    """Images/s of shuffled float batches from torchvision's ImageFolder read by a DataLoader with ``workers``."""
    from torchvision import datasets
    from torchvision.transforms import v2

    transform = v2.Compose([v2.Grayscale(1), v2.Resize((size, size)), v2.PILToTensor(),
                            v2.ToDtype(torch.float32, scale=True)])
    loader = torch.utils.data.DataLoader(datasets.ImageFolder(str(folder), transform=transform), batch_size=batch,
                                         shuffle=True, num_workers=workers, persistent_workers=workers > 0)
    started, seen = time.perf_counter(), 0
    for step, (x, _) in enumerate(loader):
        if step == 1:  # leave out the workers' start-up
            started, seen = time.perf_counter(), 0
        seen += len(x)
        if step >= batches:
            break
    return seen / (time.perf_counter() - started)


def run_recipe(recipe: Path, folder: Path, epochs: int, load: str, output: Path) -> dict[str, float]:
    """One `toolkit run` in a child process: its first epoch's images/s and its peak RSS."""
    command = [sys.executable, "-m", "toolkit", "run", str(recipe), "-q", "-o", str(output), "--set",
               f"dataset.folder={folder}", "--set", f"run.epochs={epochs}", "--set", f"dataset.load={load}"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        sys.exit(f"{' '.join(command)} failed")
    metrics = json.loads((output / "metrics.json").read_text())
    return {"images_per_s": metrics["epochs"][0]["images_per_second"], "peak_rss_mib": usage.ru_maxrss * 1024 / MIB}


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB


def smoke_folder(root: Path, classes: int = 4, each: int = 30) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(classes):
        (root / f"c{c}").mkdir(parents=True)
        for k in range(each):
            Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8), "L").save(root / f"c{c}" / f"{k}.jpg")
    return root


def compare_loaders(folder: Path, args: argparse.Namespace, scratch: Path) -> None:
    """Print the images/s of the cache, of streaming and of ImageFolder; streaming and ImageFolder take turns for
    ``args.rounds`` rounds (each on a fresh shuffle), and their ratio is the median of the rounds'."""
    cached, prepare = open_folder(folder, "cache", args, args.cache_dir or scratch / "cache")
    cache_speed = toolkit_speed(cached, args)
    streamed, _ = open_folder(folder, "stream", args, scratch / "unused")
    rounds = []
    for round_ in range(args.rounds):
        stream = toolkit_speed(streamed, args, seed=round_)
        baseline = image_folder_speed(folder, args.size, args.batch, args.batches, args.workers)
        rounds.append((stream, baseline))
        print(f"round {round_ + 1}: stream {stream:8.0f} images/s, ImageFolder {baseline:8.0f} images/s, "
              f"{stream / baseline:5.2f} x", flush=True)
    stream, baseline = (float(np.median([r[i] for r in rounds])) for i in (0, 1))
    ratio = float(np.median([s / b for s, b in rounds]))
    print(f"{len(cached)} images at {args.size} px; prepare {prepare:.1f}s; {args.workers} workers; "
          f"peak RSS {peak_rss_mib():.0f} MiB; medians of {args.rounds} round(s)")
    for name, speed, times in (("cache", cache_speed, cache_speed / baseline), ("stream", stream, ratio),
                               ("ImageFolder", baseline, 1.0)):
        print(f"{name:<12} {speed:12.0f} images/s   {times:6.2f} x ImageFolder")
    print(f"targets: cache >= {TARGETS['cache / ImageFolder']} x, stream >= 1 x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["loaders", "train"])
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="turns of streaming and ImageFolder (median reported)")
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "fashion_folder.toml")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--cache-dir", type=Path, default=None, help="prepared caches (default: a temporary folder)")
    parser.add_argument("--smoke", action="store_true", help="a tiny synthetic folder: checks that the script runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        folder = smoke_folder(scratch / "smoke") if args.smoke else args.folder
        if folder is None:
            parser.error("give FOLDER (or --smoke)")
        if args.mode == "loaders":
            args.batches, args.batch = (5, 16) if args.smoke else (args.batches, args.batch)
            args.workers = 0 if args.smoke else args.workers
            compare_loaders(folder, args, scratch)
        else:
            with_cache = run_recipe(args.recipe, folder, args.epochs, "cache", scratch / "cached")
            in_memory = run_recipe(args.recipe, folder, args.epochs, "memory", scratch / "memory")
            for name, result in (("cache", with_cache), ("in memory", in_memory)):
                print(f"{name:<10} {result['images_per_s']:10.1f} train images/s  peak RSS {result['peak_rss_mib']:.0f} MiB")
            ratio = with_cache["images_per_s"] / in_memory["images_per_s"]
            print(f"ratio      {ratio:10.2f}   (target >= {TARGETS['train cache / in-memory']:.2f})")


if __name__ == "__main__":
    main()
