"""A fully connected encoder: flatten, then Linear/ReLU layers."""

from __future__ import annotations

from torch import nn


class MLP(nn.Module):
    """Flatten → Linear(in_features, hidden[0]) → ReLU → ... → Linear(hidden[-1], embedding_dim).

    Args:
        in_features: pixels per image (784 for 28x28, 64 for 8x8 digits).
        hidden: sizes of the hidden layers, each followed by ReLU.
        embedding_dim: size of the embedding.
    """

    def __init__(self, *, in_features: int = 784, hidden: list[int] = [128, 128], embedding_dim: int = 32):  # noqa: B006
        super().__init__()
        sizes = [in_features, *hidden]
        if any(s < 1 for s in [*sizes, embedding_dim]):
            raise ValueError(f"layer sizes must be positive, got in_features={in_features}, hidden={hidden}, embedding_dim={embedding_dim}")
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(sizes[-1], embedding_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
