"""The 2-D-feature CNN of the center-loss MNIST article (LeNet++ of Wen et al.)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from torch import nn

from .pooling import MaxPool2x2


def _convs(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel_size=5, padding=2), nn.PReLU(),
            nn.Conv2d(c_out, c_out, kernel_size=5, padding=2), nn.PReLU(), MaxPool2x2()]


class CenterCNN(nn.Module):
    """The center-loss article's CNN: six 5x5 convs with PReLU, then Linear(128·3·3 → feature_dim) → PReLU.

    Convs with padding 2, each followed by PReLU: 1→32→32, pool, →64→64, pool, →128→128, pool. The output
    is the (2-D by default) feature that the center loss pulls towards its class center; the classifier
    head belongs to the loss (``softmax_center``).

    Args:
        feature_dim: size of the feature (2 in the article, so it can be plotted directly).
        in_channels: image channels.
        image_size: height and width of the (square) input images; 28 gives 3x3 maps after three poolings.
        init: ``kaiming``: weights drawn for PReLU (He et al.), so the signal keeps its scale through the seven
            layers; ``pytorch``: PyTorch's default, as in the article's code, under which the 2-D feature
            starts about 1,000 times smaller than the input (std 0.001) and training sits at chance for epochs.
    """

    def __init__(self, *, feature_dim: Annotated[int, Field(ge=1)] = 2, in_channels: Annotated[int, Field(ge=1)] = 1,
                 image_size: Annotated[int, Field(ge=8)] = 28,  # three 2x2 poolings
                 init: Literal["kaiming", "pytorch"] = "kaiming"):
        super().__init__()
        self.features = nn.Sequential(*_convs(in_channels, 32), *_convs(32, 64), *_convs(64, 128))
        side = image_size // 2 // 2 // 2
        self.head = nn.Sequential(nn.Linear(128 * side * side, feature_dim), nn.PReLU())
        if init == "kaiming":
            for layer in self.modules():
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    nn.init.kaiming_normal_(layer.weight, a=0.25, nonlinearity="leaky_relu")  # 0.25: PReLU's initial slope
                    nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))
