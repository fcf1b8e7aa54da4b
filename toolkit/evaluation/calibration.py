"""The distance below which two images count as "the same", calibrated on held-out pairs after training.

Any run gets one: it needs only embeddings and labels. Pairs (half same-class, half different-class) are drawn
with a fixed seed from one half of a held-out split; the threshold that classifies them best is kept, and its
accuracy is measured again on pairs from the other half, which played no part in choosing it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from toolkit.runfolder import rundir
from toolkit.reporting.plots import pair_distance_histograms

if TYPE_CHECKING:
    from toolkit.components.contracts import EvalContext

log = logging.getLogger("toolkit")

DISTANCE = "euclidean"


def draw_pairs(labels: torch.Tensor, count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` pairs ``(first, second, same)``: half of them same-class (where the class has two items), half not."""
    order = torch.argsort(labels, stable=True)
    sorted_labels = labels[order]
    classes, counts = torch.unique_consecutive(sorted_labels, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    n = len(labels)
    position = torch.randint(n, (count,), generator=generator)  # positions in the label-sorted order
    cls = torch.searchsorted(classes, sorted_labels[position])
    size, start = counts[cls], starts[cls]
    rank = position - start
    same = (torch.rand(count, generator=generator) < 0.5) & (size > 1)
    step = 1 + torch.minimum((torch.rand(count, generator=generator) * (size - 1)).long(), (size - 2).clamp(min=0))
    other_same = start + (rank + step) % size  # another item of the same class, never the item itself
    outside = n - size
    other_diff = (start + size + (torch.rand(count, generator=generator) * outside.clamp(min=1)).long()) % n
    partner = torch.where(same, other_same, other_diff)
    keep = same | (outside > 0)
    return order[position[keep]], order[partner[keep]], same[keep]


def best_threshold(distances: torch.Tensor, same: torch.Tensor) -> tuple[float, float]:
    """The threshold (pairs at or below it are "same") with the highest accuracy, and that accuracy."""
    d, order = torch.sort(distances.double())
    s = same[order].long()
    n = len(d)
    same_below = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(s, 0)])  # same pairs among the k nearest
    diff_below = torch.arange(n + 1) - same_below
    correct = same_below + (int((1 - s).sum()) - diff_below)
    cut_ok = torch.ones(n + 1, dtype=torch.bool)
    cut_ok[1:n] = d[1:] > d[:-1]  # never cut between equal distances
    k = int(torch.argmax(torch.where(cut_ok, correct, torch.full_like(correct, -1))))
    if k == 0:
        threshold = float(d[0]) - 1e-6 if n else 0.0
    elif k == n:
        threshold = float(d[-1])
    else:
        threshold = float((d[k - 1] + d[k]) / 2)
    return threshold, float(correct[k]) / max(n, 1)


def pair_distances(embeddings: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(embeddings[first] - embeddings[second], dim=1)


def calibrate(embeddings: torch.Tensor, labels: torch.Tensor, *, seed: int, pairs: int = 2000) -> dict[str, Any] | None:
    """Threshold, its accuracy on the calibration pairs and on held-out pairs, and the distances of both kinds
    (``None`` when the split cannot give same-class and different-class pairs)."""
    labels = labels.long()
    if len(torch.unique(labels)) < 2 or len(labels) < 4:
        return None
    generator = torch.Generator().manual_seed(seed)
    halves = torch.randperm(len(labels), generator=generator).tensor_split(2)
    drawn = []
    for half in halves:
        first, second, same = draw_pairs(labels[half], pairs, generator)
        if not same.any() or same.all():
            return None
        drawn.append((pair_distances(embeddings, half[first], half[second]), same))
    (d_cal, s_cal), (d_held, s_held) = drawn
    threshold, accuracy = best_threshold(d_cal, s_cal)
    held_out = float(((d_held <= threshold) == s_held).float().mean())
    return {
        "distance": DISTANCE,
        "threshold": threshold,
        "accuracy": accuracy,
        "held_out_accuracy": held_out,
        "pairs": int(len(d_cal)),
        "held_out_pairs": int(len(d_held)),
        "positive_distances": d_cal[s_cal].tolist(),
        "negative_distances": d_cal[~s_cal].tolist(),
    }


HELD_OUT_SPLITS = ("validation", "val", "valid", "test")


def held_out_split(split_names: list[str]) -> str:
    """The split pairs are calibrated on: a validation split if the dataset has one, else the test split."""
    for name in HELD_OUT_SPLITS:
        if name in split_names:
            return name
    others = [s for s in split_names if s != "train"]
    return others[-1] if others else split_names[0]


def calibrate_run(context: "EvalContext", run_dir: Path, title: str, *, split: str) -> dict[str, Any] | None:
    """Calibrate on the held-out ``split``; writes ``threshold.json`` and the pair distance histograms."""
    embeddings, labels = context.embed(split)
    result = calibrate(embeddings, labels, seed=context.seed)
    if result is None:
        log.info("no threshold calibrated: the %s split cannot give same-class and different-class pairs", split)
        return None
    positive, negative = result.pop("positive_distances"), result.pop("negative_distances")
    result = {"split": split, **result}
    rundir.write_json(run_dir / rundir.THRESHOLD_FILE, result)
    pair_distance_histograms(positive, negative, result["threshold"], run_dir / rundir.PAIR_DISTANCES_PLOT,
                             f"{title}: {split} pairs (accuracy {result['accuracy']:.3f})")
    log.info("same/different threshold %.4g: accuracy %.4f on %d %s calibration pairs, %.4f on %d other pairs of held-out images", result["threshold"],
             result["accuracy"], result["pairs"], split, result["held_out_accuracy"], result["held_out_pairs"])
    return result
