"""Face-verification metrics: every same/different pair of a split scored by embedding distance."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field
import torch

from toolkit.api import EvalContext, Evaluator, ToolkitError, write_atomic


def pair_indices(count: int, max_pairs: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """All ``count·(count−1)/2`` pairs ``i < j``, or ``max_pairs`` random distinct pairs when there are more."""
    total = count * (count - 1) // 2
    if total <= max_pairs:
        i, j = torch.triu_indices(count, count, offset=1)
        return i, j
    keys = torch.empty(0, dtype=torch.long)
    while len(keys) < max_pairs:  # uniform draws, duplicates dropped: a uniform random set of distinct pairs
        i = torch.randint(count, (max_pairs,), generator=generator)
        j = (i + 1 + torch.randint(count - 1, (max_pairs,), generator=generator)) % count
        keys = torch.cat([keys, torch.minimum(i, j) * count + torch.maximum(i, j)]).unique()
    keys = keys[torch.randperm(len(keys), generator=generator)[:max_pairs]]
    return keys // count, keys % count


def verification_scores(distances: np.ndarray, same: np.ndarray) -> dict[str, float]:
    """ROC-AUC, equal error rate and the best-threshold accuracy when "same" is predicted for distance ≤ threshold.

    The equal error rate is where the false-accept rate (different pairs called same) equals the
    false-reject rate (same pairs called different), interpolated between the two ROC points around it.
    """
    from sklearn.metrics import roc_auc_score, roc_curve  # lazy: slow to import, needed only when evaluating

    same = same.astype(bool)
    positives, negatives = int(same.sum()), int((~same).sum())
    fpr, tpr, thresholds = roc_curve(same, -distances, drop_intermediate=False)
    fnr = 1.0 - tpr
    k = int(np.argmax(fpr >= fnr))
    if k == 0:
        eer = float(fpr[0])
    else:
        gap_before, gap_after = fnr[k - 1] - fpr[k - 1], fpr[k] - fnr[k]
        t = gap_before / (gap_before + gap_after) if gap_before + gap_after > 0 else 0.0
        eer = float(fpr[k - 1] + t * (fpr[k] - fpr[k - 1]))
    accuracy = (tpr * positives + (1.0 - fpr) * negatives) / (positives + negatives)
    best = int(np.argmax(accuracy))
    return {
        "roc_auc": float(roc_auc_score(same, -distances)),
        "eer": eer,
        "best_accuracy": float(accuracy[best]),
        "best_threshold": float(-thresholds[best]) if np.isfinite(thresholds[best]) else float(distances.min()),
        "same_pairs": positives,
        "different_pairs": negatives,
    }


class VerificationEvaluator(Evaluator):
    """Same/different verification by embedding distance: ROC-AUC, equal error rate, best-threshold accuracy.

    Every pair of the split is scored. A picture shows example pairs side by side with their dissimilarity
    (embedding distance) under each, like the face-verification article's.

    Args:
        split: split whose pairs are scored (the test split holds people never seen in training).
        max_pairs: score at most this many pairs (random distinct pairs when the split has more).
        examples: pairs shown in the picture, half same and half different (0: no picture).
        filename: file name of the picture in the run folder.
    """

    def __init__(self, *, split: str = "test", max_pairs: Annotated[int, Field(ge=1)] = 1_000_000,
                 examples: Annotated[int, Field(ge=0)] = 8, filename: str = "verification_pairs.png"):
        self.split, self.max_pairs, self.examples, self.filename = split, max_pairs, examples, filename
        self.splits = [split]

    def evaluate(self, context: EvalContext) -> dict[str, float]:
        embeddings, labels = context.embed(self.split)
        generator = torch.Generator().manual_seed(context.seed)
        i, j = pair_indices(len(labels), self.max_pairs, generator)
        same = (labels[i] == labels[j]).numpy()
        if same.all() or not same.any():
            raise ToolkitError(
                f"evaluators: verification needs both same-class and different-class pairs in the {self.split!r} split, "
                f"but all {len(same)} of its pairs are {'same' if same.all() else 'different'}-class. Use a split with at "
                "least two classes of two or more images each."
            )
        distances = torch.linalg.vector_norm(embeddings[i] - embeddings[j], dim=1).numpy()
        metrics = verification_scores(distances, same)
        if self.examples and context.dataset.split(self.split).is_image:
            self._picture(context, i, j, same, distances, generator)
            context.add_artifact("picture", self.filename)
        return metrics

    def _picture(self, context: EvalContext, i, j, same, distances, generator) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        images = context.dataset.split(self.split)
        chosen = []
        for want, count in ((True, (self.examples + 1) // 2), (False, self.examples // 2)):
            rows = np.flatnonzero(same == want)
            pick = torch.randperm(len(rows), generator=generator)[:count].numpy()
            chosen += rows[pick].tolist()
        columns = min(4, len(chosen))
        lines = (len(chosen) + columns - 1) // columns
        fig, axes = plt.subplots(lines, columns, figsize=(3.2 * columns, 2.2 * lines), squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for ax, row in zip(axes.flat, chosen):
            left, right = (images.images[int(k)] for k in (i[row], j[row]))
            gap = torch.full((left.shape[0], left.shape[1], max(2, left.shape[2] // 20)), 255, dtype=left.dtype)
            picture = torch.cat([left, gap, right], dim=2)
            shown = picture[0].numpy() if picture.shape[0] == 1 else picture.permute(1, 2, 0).numpy()
            ax.imshow(shown, cmap="gray", vmin=0, vmax=255)
            kind = "same" if same[row] else "different"
            ax.set_title(f"dissimilarity {distances[row]:.2f} ({kind})", fontsize=9, y=-0.18)
        fig.suptitle(f"Example pairs from the {self.split} split", fontsize=10)
        fig.tight_layout()
        write_atomic(context.out_dir / self.filename, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
        plt.close(fig)
