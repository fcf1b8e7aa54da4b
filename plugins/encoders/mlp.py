"""A fully connected encoder: flatten, then Linear/ReLU layers."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from torch import nn

Positive = Annotated[int, Field(ge=1)]


class MLP(nn.Module):
    """Flatten → Linear(in_features, hidden[0]) → ReLU → ... → Linear(hidden[-1], embedding_dim).

    Args:
        in_features: pixels per image (784 for 28x28, 64 for 8x8 digits).
        hidden: sizes of the hidden layers, each followed by ReLU.
        embedding_dim: size of the embedding.
    """

    def __init__(self, *, in_features: Positive = 784, hidden: list[Positive] = [128, 128],  # noqa: B006
                 embedding_dim: Positive = 32):
        super().__init__()
        sizes = [in_features, *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(sizes[-1], embedding_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
