"""Triplet accuracy on a fixed set of test triplets, and the validation loss after every epoch."""

from __future__ import annotations

import json
import logging
from typing import Annotated

from pydantic import Field
import torch

from toolkit.api import EmbeddedBatch, EvalContext, Evaluator, loss_curve, write_json

from ..samplers.label_table import LabelTable

log = logging.getLogger("toolkit")


def fixed_triplets(labels: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    """``(count, 3)`` indices (anchor, positive of its class, negative of another class), the same for a seed.

    Each image is an anchor once when ``count`` is at most the split's size; beyond it anchors repeat.
    """
    table = LabelTable(labels)
    table.check_pairs_possible()
    generator = torch.Generator().manual_seed(seed)
    n = len(labels)
    anchors = torch.randperm(n, generator=generator)[:count] if count <= n else torch.randint(n, (count,), generator=generator)
    return torch.stack([anchors, table.same_class(anchors, generator), table.other_class(anchors, generator)], dim=1)


def triplet_accuracy(embeddings: torch.Tensor, triplets: torch.Tensor) -> float:
    """Share of triplets whose anchor is closer to its positive than to its negative."""
    anchor, positive, negative = (embeddings[triplets[:, k]] for k in range(3))
    closer = (anchor - positive).pow(2).sum(1) < (anchor - negative).pow(2).sum(1)
    return float(closer.float().mean())


class TripletAccuracyEvaluator(Evaluator):
    """Triplet accuracy on fixed test triplets (share with d(a, p) < d(a, n)), and the validation loss per epoch.

    The triplets are drawn once from the split with a fixed seed, so that runs are comparable. After every
    epoch the accuracy and the training loss on those triplets (the validation loss) are saved to
    ``validation.json`` and plotted in ``validation_curve.png``.

    Args:
        split: split the triplets are drawn from.
        count: number of triplets.
        seed: seed of the draw (independent of ``run.seed``, so runs with other seeds see the same triplets).
        every_epoch: compute accuracy and validation loss after every epoch, not only at the end.
    """

    HISTORY = "validation.json"
    CURVE = "validation_curve.png"

    def __init__(self, *, split: str = "test", count: Annotated[int, Field(ge=1)] = 10_000, seed: int = 0, every_epoch: bool = True):
        self.split, self.count, self.seed, self.every_epoch = split, count, seed, every_epoch
        self.splits = [split]
        self._triplets: torch.Tensor | None = None

    def triplets(self, labels: torch.Tensor) -> torch.Tensor:
        if self._triplets is None:
            self._triplets = fixed_triplets(labels, self.count, self.seed)
        return self._triplets

    def _measure(self, context: EvalContext) -> dict[str, float]:
        embeddings, labels = context.embed(self.split)
        triplets = self.triplets(labels)
        result = {"accuracy": triplet_accuracy(embeddings, triplets)}
        loss = context.loss
        if loss is not None and getattr(loss, "batch_kind", None) == "triplets":
            batch = EmbeddedBatch("triplets", embeddings[triplets].to(context.device), labels[triplets].to(context.device))
            with torch.no_grad():
                result["loss"] = float(loss(batch))
        return result

    def on_epoch_end(self, context: EvalContext, epoch: int) -> None:
        if not self.every_epoch:
            return
        path = context.out_dir / self.HISTORY
        history = [row for row in self._history(context) if row["epoch"] < epoch]
        history.append({"epoch": epoch, **self._measure(context)})
        write_json(path, history)
        log.info("epoch %d  %s triplet accuracy %.4f%s", epoch, self.split, history[-1]["accuracy"],
                 f"  validation loss {history[-1]['loss']:.5f}" if "loss" in history[-1] else "")
        if "loss" in history[-1]:
            loss_curve([r["epoch"] for r in history], [r["loss"] for r in history], context.out_dir / self.CURVE,
                       f"{len(self._triplets)} fixed {self.split} triplets", "validation loss")

    def _history(self, context: EvalContext) -> list[dict[str, float]]:
        path = context.out_dir / self.HISTORY
        return json.loads(path.read_text()) if path.is_file() else []

    def evaluate(self, context: EvalContext) -> dict[str, float]:
        metrics = {**self._measure(context), "triplets": float(self.count)}
        if self._history(context):
            context.add_artifact("per_epoch", self.HISTORY)
        if (context.out_dir / self.CURVE).is_file():
            context.add_artifact("curve", self.CURVE)
        return metrics
