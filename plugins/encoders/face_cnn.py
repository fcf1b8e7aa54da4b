"""The CNN of the face-verification Siamese article: reflection-padded 3x3 convs, then three linear layers."""

from __future__ import annotations

from torch import nn

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

    def __init__(self, *, embedding_dim: int = 5, in_channels: int = 1, image_size: list[int] = [100, 100],  # noqa: B006
                 hidden: int = 500):
        super().__init__()
        if len(image_size) != 2 or min(image_size) < 1:
            raise ValueError(f"image_size must be [height, width] with positive sides, got {image_size}")
        if min(embedding_dim, in_channels, hidden) < 1:
            raise ValueError(f"embedding_dim, in_channels and hidden must be positive, got {embedding_dim}, {in_channels}, {hidden}")
        self.features = nn.Sequential(*_block(in_channels, 4), *_block(4, 8), *_block(8, 8))
        self.head = nn.Sequential(
            nn.Linear(8 * image_size[0] * image_size[1], hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, embedding_dim),
        )

    def forward(self, x):
        return self.head(self.features(x).flatten(1))
