"""A 2-D scatter of embeddings coloured by class."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from toolkit.api import EvalContext, Evaluator, project_2d, scatter_by_class


class EmbeddingPlot(Evaluator):
    """Saves ``embeddings_<split>.png``: the split's embeddings in 2-D (t-SNE above two dimensions).

    Args:
        split: split to plot.
        max_points: plot a random sample of at most this many points (t-SNE time grows with it).
        filename: file name in the run folder (default ``embeddings_<split>.png``).
    """

    def __init__(self, *, split: str = "test", max_points: Annotated[int, Field(ge=10)] = 2000,
                 filename: str | None = None):
        self.split, self.max_points = split, max_points
        self.splits = [split]
        self.filename = filename or f"embeddings_{split}.png"

    def evaluate(self, context: EvalContext) -> dict[str, float]:
        embeddings, labels = context.embed(self.split)
        rng = np.random.default_rng(context.seed)
        keep = rng.permutation(len(labels))[: self.max_points]
        points = project_2d(embeddings.numpy()[keep], method="tsne", seed=context.seed)
        names = context.dataset.split(self.split).class_names
        method = "t-SNE of" if embeddings.shape[1] > 2 else ""
        title = f"{method} {embeddings.shape[1]}-D embeddings, {self.split} split ({len(keep)} points)".strip()
        scatter_by_class(points, labels.numpy()[keep], context.out_dir / self.filename, title, names)
        context.add_artifact("plot", self.filename)
        return {}
