"""Loading speed and memory of a folder of images: the prepared cache against torchvision's ImageFolder.

    .venv/bin/python benchmarks/loading.py loaders FOLDER [--size 64] [--workers 2] [--batches 200]
    .venv/bin/python benchmarks/loading.py train FOLDER [--recipe recipes/fashion_folder.toml] [--epochs 1]
    .venv/bin/python benchmarks/loading.py loaders --smoke

``loaders``: the time to prepare the cache, then images per second of random batches gathered from it
(``ImageSet.batch``: uint8 gather, float conversion) against ``torchvision.datasets.ImageFolder`` + PIL +
``DataLoader`` with ``--workers`` workers, both delivering float batches of ``--size`` px grey images.
``train``: ``toolkit run`` of the recipe on FOLDER with the cache and with the images decoded into memory
(``dataset.cache = false``): training images per second of the first epoch and the peak RSS of each run.
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


def cache_speed(folder: Path, size: int, batch: int, batches: int, cache_dir: Path) -> dict[str, float]:
    """Seconds to prepare (or reopen) the cache, then images/s of random float batches from it."""
    files = list_classes(class_folders(folder, "FOLDER"))
    started = time.perf_counter()
    loaded = load_images(files, ImageReader(channels=1, size=(size, size)), name=folder.name, cache_dir=cache_dir)
    prepare = time.perf_counter() - started
    images = ImageSet(loaded.images, loaded.labels)
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for _ in range(batches):
        images.batch(torch.randint(len(images), (batch,), generator=generator))
    return {"images": len(images), "prepare_s": prepare, "images_per_s": batch * batches / (time.perf_counter() - started)}


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


def run_recipe(recipe: Path, folder: Path, epochs: int, cache: bool, output: Path) -> dict[str, float]:
    """One `toolkit run` in a child process: its first epoch's images/s and its peak RSS."""
    command = [sys.executable, "-m", "toolkit", "run", str(recipe), "-q", "-o", str(output), "--set",
               f"dataset.folder={folder}", "--set", f"run.epochs={epochs}", "--set", f"dataset.cache={str(cache).lower()}"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        sys.exit(f"{' '.join(command)} failed")
    metrics = json.loads((output / "metrics.json").read_text())
    return {"images_per_s": metrics["epochs"][0]["images_per_second"], "peak_rss_mib": usage.ru_maxrss * 1024 / MIB}


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
        batches = 5 if args.smoke else args.batches
        if args.mode == "loaders":
            cached = cache_speed(folder, args.size, args.batch, batches, args.cache_dir or scratch / "cache")
            baseline = image_folder_speed(folder, args.size, args.batch, batches, 0 if args.smoke else args.workers)
            ratio = cached["images_per_s"] / baseline
            print(f"{cached['images']} images at {args.size} px; prepare {cached['prepare_s']:.1f}s")
            print(f"cache        {cached['images_per_s']:12.0f} images/s")
            print(f"ImageFolder  {baseline:12.0f} images/s ({args.workers} workers)")
            print(f"ratio        {ratio:12.2f}   (target >= {TARGETS['cache / ImageFolder']})")
        else:
            with_cache = run_recipe(args.recipe, folder, args.epochs, True, scratch / "cached")
            in_memory = run_recipe(args.recipe, folder, args.epochs, False, scratch / "memory")
            for name, result in (("cache", with_cache), ("in memory", in_memory)):
                print(f"{name:<10} {result['images_per_s']:10.1f} train images/s  peak RSS {result['peak_rss_mib']:.0f} MiB")
            ratio = with_cache["images_per_s"] / in_memory["images_per_s"]
            print(f"ratio      {ratio:10.2f}   (target >= {TARGETS['train cache / in-memory']:.2f})")


if __name__ == "__main__":
    main()
