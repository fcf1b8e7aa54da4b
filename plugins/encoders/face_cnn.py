"""The CNN of the face-verification Siamese article: reflection-padded 3x3 convs, then three linear layers."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from torch import nn

Positive = Annotated[int, Field(ge=1)]

from .batch_norm import BatchNorm2d


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, kernel_size=3), nn.ReLU(inplace=True), BatchNorm2d(c_out)]


class FaceCNN(nn.Module):
    """The face-verification article's CNN: three reflection-padded 3x3 conv blocks, then three linear layers.

    Blocks ReflectionPad(1) → Conv 3x3 → ReLU → BatchNorm with channels in→4→8→8 (the size is kept), then
    Linear(8·H·W, hidden) → ReLU → Linear(hidden, hidden) → ReLU → Linear(hidden, embedding_dim).

    Args:
        embedding_dim: size of the embedding (5 in the article).
        in_channels: image channels (1 for grey faces).
        image_size: height and width of the input images, as ``[height, width]``; the first linear layer
            has ``8 · height · width`` inputs.
        hidden: width of the two hidden linear layers.
    """

    def __init__(self, *, embedding_dim: Positive = 5, in_channels: Positive = 1,
                 image_size: Annotated[list[Positive], Field(min_length=2, max_length=2)] = [100, 100],  # noqa: B006
                 hidden: Positive = 500):
        super().__init__()
        self.features = nn.Sequential(*_block(in_channels, 4), *_block(4, 8), *_block(8, 8))
        self.head = nn.Sequential(
            nn.Linear(8 * image_size[0] * image_size[1], hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, embedding_dim),
        )

    def forward(self, x):
        return self.head(self.features(x).flatten(1))
