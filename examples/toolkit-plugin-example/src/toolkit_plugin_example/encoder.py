"""A small convolutional encoder that works for any image size."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvEncoder(nn.Module):
    """Conv 3x3 → BatchNorm → ReLU → MaxPool per stage, global average pool, then Linear to the embedding.

    Args:
        in_channels: image channels (1 for grey, 3 for RGB).
        channels: output channels of each convolution stage.
        embedding_dim: size of the embedding.
        normalize: scale every embedding to unit length.
    """

    def __init__(self, *, in_channels: int = 1, channels: list[int] = [16, 32], embedding_dim: int = 32,  # noqa: B006
                 normalize: bool = False):
        super().__init__()
        if in_channels < 1 or embedding_dim < 1 or not channels or min(channels) < 1:
            raise ValueError(f"channel counts and embedding_dim must be positive, got in_channels={in_channels}, "
                             f"channels={channels}, embedding_dim={embedding_dim}")
        stages: list[nn.Module] = []
        for a, b in zip([in_channels, *channels], channels):
            stages += [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
        self.features = nn.Sequential(*stages, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(channels[-1], embedding_dim)
        self.normalize = normalize

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        embeddings = self.head(self.features(images))
        return F.normalize(embeddings, dim=1) if self.normalize else embeddings
