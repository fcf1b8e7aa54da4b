"""`toolkit prepare`: decode a recipe's images into the prepared cache ahead of a run."""

from __future__ import annotations

from pathlib import Path

from toolkit.recipes.build import build_dataset
from toolkit.recipes.recipe import load_recipe


def prepare_recipe(recipe_path: str | Path, overrides: tuple[str, ...] = ()) -> list[str]:
    """Load every split of the recipe's dataset (which prepares a cache that is missing or stale); one line per split."""
    recipe = load_recipe(recipe_path, overrides)
    dataset = build_dataset(recipe)
    lines = []
    for split in dataset.split_names:
        images = dataset.split(split)
        channels, height, width = images.shape
        skipped = len(dataset.skipped.get(split, []))
        lines.append(f"{split}: {len(images)} images, {width}x{height}, {channels} channel(s), "
                     f"{images.num_classes} classes" + (f", {skipped} unreadable files skipped" if skipped else ""))
    return lines
