"""Loading speed and memory of a folder of images: the prepared cache and streaming against torchvision's ImageFolder.

    .venv/bin/python benchmarks/loading.py loaders FOLDER [--size 64] [--workers 2] [--batches 200]
    .venv/bin/python benchmarks/loading.py train FOLDER [--recipe recipes/fashion_folder.toml] [--epochs 1]
    .venv/bin/python benchmarks/loading.py loaders --smoke

``loaders``: the time to prepare the cache, then images per second of one epoch's shuffled batches
(``ImageSet.batch``: uint8 gather, float conversion) read from the cache, streamed by ``--workers``
DataLoader workers (``load = "stream"``), and read by ``torchvision.datasets.ImageFolder`` + PIL +
``DataLoader`` with the same workers; all deliver float batches of ``--size`` px grey images.
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


def toolkit_speed(folder: Path, load: str, args: argparse.Namespace, cache_dir: Path) -> dict[str, float]:
    """Seconds to prepare (or reopen) the images with ``load`` (``cache`` or ``stream``), then images/s of shuffled
    float batches of one epoch's first ``args.batches`` batches, planned ahead as the runner plans them."""
    files = list_classes(class_folders(folder, "FOLDER"))
    started = time.perf_counter()
    loaded = load_images(files, ImageReader(channels=1, size=(args.size, args.size)), name=folder.name, load=load,
                         cache_dir=cache_dir, workers=args.workers)
    prepare = time.perf_counter() - started
    images = ImageSet(loaded.images, loaded.labels)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    batches = [order[i:i + args.batch] for i in range(0, len(order), args.batch)][:args.batches + 1]
    if load == "stream":
        loaded.images.plan(batches)
    for step, batch in enumerate(batches):
        if step == 1:  # leave out the first batch: the workers' start-up
            started = time.perf_counter()
        images.batch(batch)
    seen = sum(len(b) for b in batches[1:])
    return {"images": len(images), "prepare_s": prepare, "images_per_s": seen / (time.perf_counter() - started)}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["loaders", "train"])
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
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
            cached = toolkit_speed(folder, "cache", args, args.cache_dir or scratch / "cache")
            streamed = toolkit_speed(folder, "stream", args, scratch / "unused")
            baseline = image_folder_speed(folder, args.size, args.batch, args.batches, args.workers)
            print(f"{cached['images']} images at {args.size} px; prepare {cached['prepare_s']:.1f}s; "
                  f"{args.workers} workers; peak RSS {peak_rss_mib():.0f} MiB")
            for name, speed in (("cache", cached["images_per_s"]), ("stream", streamed["images_per_s"]),
                                ("ImageFolder", baseline)):
                print(f"{name:<12} {speed:12.0f} images/s   {speed / baseline:6.2f} x ImageFolder")
            print(f"targets: cache >= {TARGETS['cache / ImageFolder']} x, stream >= 1 x")
        else:
            with_cache = run_recipe(args.recipe, folder, args.epochs, "cache", scratch / "cached")
            in_memory = run_recipe(args.recipe, folder, args.epochs, "memory", scratch / "memory")
            for name, result in (("cache", with_cache), ("in memory", in_memory)):
                print(f"{name:<10} {result['images_per_s']:10.1f} train images/s  peak RSS {result['peak_rss_mib']:.0f} MiB")
            ratio = with_cache["images_per_s"] / in_memory["images_per_s"]
            print(f"ratio      {ratio:10.2f}   (target >= {TARGETS['train cache / in-memory']:.2f})")


if __name__ == "__main__":
    main()
