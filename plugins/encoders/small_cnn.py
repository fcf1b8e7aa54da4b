"""The Fashion-MNIST Siamese article's small CNN."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from torch import nn

from .batch_norm import BatchNorm2d
from .pooling import MaxPool2x2


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.ReLU(inplace=True), BatchNorm2d(c_out)]


class SmallCNN(nn.Module):
    """3x3 convs 1→4→4, pool, 4→8→8, pool, 8→1 (each ReLU then BatchNorm), then Linear(49 → embedding_dim).

    Args:
        embedding_dim: size of the embedding (the article's ``z``).
        in_channels: image channels.
        image_size: height and width of the (square) input images.
    """

    def __init__(self, *, embedding_dim: Annotated[int, Field(ge=1)] = 8, in_channels: Annotated[int, Field(ge=1)] = 1,
                 image_size: Annotated[int, Field(ge=4, multiple_of=4)] = 28):  # two 2x2 poolings
        super().__init__()
        self.features = nn.Sequential(
            *_conv(in_channels, 4), *_conv(4, 4), MaxPool2x2(),
            *_conv(4, 8), *_conv(8, 8), MaxPool2x2(),
            *_conv(8, 1),
        )
        self.head = nn.Linear((image_size // 4) ** 2, embedding_dim)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))
