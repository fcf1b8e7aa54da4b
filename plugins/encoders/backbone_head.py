"""What the pretrained-backbone encoders share: an embedding head, L2 normalisation and freezing."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from toolkit.api import Encoder, ToolkitError


class BackboneWithHead(Encoder):
    """A feature extractor followed by ``Linear(features, embedding_dim)`` (and BatchNorm1d if asked).

    Subclasses build the backbone and call :meth:`attach`. ``freeze_epochs`` keeps the backbone (weights and
    BatchNorm statistics) exactly as loaded for the first epochs; ``freeze_batch_norm`` keeps its BatchNorm
    layers in evaluation mode with fixed affine weights throughout.
    """

    def __init__(self, *, embedding_dim: int, head_batch_norm: bool, normalize: bool, freeze_epochs: int,
                 freeze_batch_norm: bool):
        super().__init__()
        self.embedding_dim, self.head_batch_norm, self.normalize = embedding_dim, head_batch_norm, normalize
        self.freeze_epochs, self.freeze_batch_norm = freeze_epochs, freeze_batch_norm
        self._frozen = False

    def attach(self, backbone: nn.Module, features: int, *, name: str, min_size: tuple[int, int] = (1, 1)) -> None:
        self.backbone, self.name, self.min_size = backbone, name, tuple(min_size)
        self.head = nn.Sequential(nn.Linear(features, self.embedding_dim),
                                  *([nn.BatchNorm1d(self.embedding_dim)] if self.head_batch_norm else []))
        self.set_epoch(1)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """The backbone's and the head's parameters, for separate learning rates."""
        return {"backbone": list(self.backbone.parameters()), "head": list(self.head.parameters())}

    def set_epoch(self, epoch: int) -> None:
        """Freeze the backbone during the first ``freeze_epochs`` epochs (counted from 1), thaw it after."""
        self._frozen = epoch <= self.freeze_epochs
        for module in self.backbone.modules():
            is_norm = isinstance(module, nn.modules.batchnorm._BatchNorm)
            for parameter in module.parameters(recurse=False):
                parameter.requires_grad_(not (self._frozen or (is_norm and self.freeze_batch_norm)))
        self.train(self.training)

    def train(self, mode: bool = True) -> BackboneWithHead:
        super().train(mode)
        if self._frozen:
            self.backbone.eval()  # BatchNorm statistics stay as loaded too
        elif self.freeze_batch_norm:
            for module in self.backbone.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] < self.min_size[0] or x.shape[-1] < self.min_size[1]:
            raise ToolkitError(f"[encoder] {self.name} needs images of at least {self.min_size[0]}x{self.min_size[1]} "
                               f"pixels, got {x.shape[-2]}x{x.shape[-1]}. Resize the dataset's images "
                               "(its size) or choose a smaller architecture such as resnet18.")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grey images into a backbone made for RGB
        features = self.backbone(x)
        if not isinstance(features, torch.Tensor):
            features = features[0]
        embedding = self.head(features.flatten(1))
        return F.normalize(embedding, dim=1) if self.normalize else embedding
