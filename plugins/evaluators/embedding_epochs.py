"""A scatter of the 2-D features after every epoch, and an animated GIF of them at the end."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from toolkit.api import EvalContext, Evaluator, project_2d, scatter_by_class, write_atomic


class EmbeddingEpochsEvaluator(Evaluator):
    """A scatter of the features after every epoch (``<folder>/epoch_NNN.png``), and an animated GIF at the end.

    Every frame shows the same sample of the split, one colour per class (principal components above two
    dimensions), so the clusters can be watched forming.

    Args:
        split: split to plot.
        max_points: points per frame (the same random sample every epoch).
        folder: sub-folder of the run folder for the frames.
        gif: file name of the animation in the run folder ("" for none).
        frame_seconds: how long each frame is shown in the animation.
    """

    def __init__(self, *, split: str = "test", max_points: Annotated[int, Field(ge=10)] = 2000,
                 folder: str = "embedding_epochs", gif: str = "embedding_epochs.gif",
                 frame_seconds: Annotated[float, Field(gt=0)] = 0.6):
        self.split, self.max_points, self.folder, self.gif, self.frame_seconds = split, max_points, folder, gif, frame_seconds
        self.splits = [split]

    def on_epoch_end(self, context: EvalContext, epoch: int) -> None:
        embeddings, labels = context.embed(self.split)
        keep = np.random.default_rng(context.seed).permutation(len(labels))[: self.max_points]
        points = project_2d(embeddings.numpy()[keep])  # PCA: fast enough for every epoch
        names = context.dataset.split(self.split).class_names
        title = f"epoch {epoch}: {embeddings.shape[1]}-D features, {self.split} split ({len(keep)} points)"
        scatter_by_class(points, labels.numpy()[keep], context.out_dir / self.folder / f"epoch_{epoch:03d}.png", title, names)

    def evaluate(self, context: EvalContext) -> dict[str, float]:
        frames = sorted((context.out_dir / self.folder).glob("epoch_*.png"))
        if frames:
            context.add_artifact("frames", self.folder)
        if self.gif and frames:
            from PIL import Image

            images = [Image.open(f).convert("RGB") for f in frames]
            duration = int(self.frame_seconds * 1000)
            write_atomic(context.out_dir / self.gif, lambda tmp: images[0].save(
                tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0))
            context.add_artifact("gif", self.gif)
        return {"frames": len(frames)}
