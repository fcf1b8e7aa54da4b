"""A compact VGG-style CNN with BatchNorm, global average pooling and optional training-time augmentation."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
import torch
import torch.nn.functional as F
from torch import nn

from .augment import RandomShiftFlip
from .batch_norm import BatchNorm2d
from .pooling import MaxPool2x2


Positive = Annotated[int, Field(ge=1)]
Stages = Annotated[list[Annotated[list[Positive], Field(min_length=1)]], Field(min_length=1)]


class ConvNet(nn.Module):
    """Stages of 3x3 conv → BatchNorm → ReLU, 2x2 max-pooling between stages, average pooling, Linear.

    The default ``[[32], [64, 64], [128]]`` spends little at full resolution and its width where the maps are
    small.

    Args:
        stages: output channels of the conv layers of each stage; stages are separated by 2x2 max-pooling.
        embedding_dim: size of the embedding.
        in_channels: image channels.
        dropout: dropout before the final Linear layer (training only).
        normalize: L2-normalise the embeddings (for angular losses such as ArcFace, CosFace, ProxyAnchor).
        shift: training-time augmentation: shift each image by up to this many pixels in x and y.
        hflip: training-time augmentation: mirror a random half of the images left-right (not for digits).
        pool_size: the last maps are averaged into ``pool_size × pool_size`` cells before the Linear layer;
            1 is global average pooling; 2 or 3 keeps a coarse layout of where each feature was seen (a
            sleeve at the side, a collar at the top), which tells garments apart better.
        erase: training-time augmentation: blank one random rectangle (up to a quarter of the image) in this
            share of the images (random erasing, Zhong et al.), so no single region decides the class.
        mirror_average: outside training, embed each image and its left-right mirror and average the two
            (test-time augmentation, for classes that look the same mirrored; twice the evaluation cost).
    """

    def __init__(self, *, stages: Stages = [[32], [64, 64], [128]], embedding_dim: Positive = 64,  # noqa: B006
                 in_channels: Positive = 1, dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0, normalize: bool = False,
                 shift: Annotated[int, Field(ge=0)] = 0, hflip: bool = False, pool_size: Positive = 1,
                 erase: Annotated[float, Field(ge=0, le=1)] = 0.0, mirror_average: bool = False):
        super().__init__()
        self.augment = RandomShiftFlip(shift, hflip, erase)
        layers: list[nn.Module] = []
        channels = in_channels
        for i, stage in enumerate(stages):
            if i:
                layers.append(MaxPool2x2())
            for out in stage:
                layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), BatchNorm2d(out), nn.ReLU(inplace=True)]
                channels = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(pool_size), nn.Flatten())
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels * pool_size * pool_size, embedding_dim)
        self.normalize, self.mirror_average = normalize, mirror_average

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self._embed(x)
        if self.mirror_average and not self.training:
            z = (z + self._embed(x.flip(-1))) / 2
        return F.normalize(z, dim=1) if self.normalize else z

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        z = self.head(self.dropout(self.features(self.augment(x))))
        return F.normalize(z, dim=1) if self.normalize else z
