"""Softmax (NLL on a classifier head) plus the center loss of Wen et al. on the encoder's feature."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
import torch
import torch.nn.functional as F
from torch import nn

from toolkit.api import EmbeddedBatch, Loss, ToolkitError


class _CenterDistance(torch.autograd.Function):
    """``Σ ½‖x_i − c_{y_i}‖² / B`` whose gradient for the centers is Wen et al.'s update rule (their eq. 4):
    ``Σ_{i: y_i = j} (c_j − x_i) / (1 + n_j) / B``, the rule of the article's code, rather than the plain
    derivative. The gradient for the features is the plain derivative ``(x_i − c_{y_i}) / B``."""

    @staticmethod
    def forward(ctx, features, labels, centers):
        diff = features - centers.index_select(0, labels)
        ctx.save_for_backward(diff, labels)
        ctx.classes = centers.shape[0]
        return diff.pow(2).sum() / (2.0 * len(features))

    @staticmethod
    def backward(ctx, grad_output):
        diff, labels = ctx.saved_tensors
        size = len(diff)
        counts = 1.0 + torch.bincount(labels, minlength=ctx.classes).to(diff.dtype)
        grad_centers = torch.zeros(ctx.classes, diff.shape[1], dtype=diff.dtype, device=diff.device)
        grad_centers.index_add_(0, labels, -diff)
        return grad_output * diff / size, None, grad_centers / counts[:, None] / size


class SoftmaxCenterLoss(Loss):
    """``NLL(log_softmax(W·x), y) + center_weight · Σ ½‖x − c_y‖² / B`` on plain labelled batches.

    ``x`` is the encoder's output (the feature, 2-D in the center-loss article); ``W`` is a linear
    classifier head trained with the encoder's optimizer; the class centers ``c`` are the loss's own
    parameters, trained by ``[loss.optimizer]`` when the recipe gives one (the article: plain SGD, lr 0.5).

    Args:
        classes: number of classes (labels must lie in ``0 .. classes − 1``).
        feature_dim: size of the encoder's output.
        center_weight: weight of the center loss (the article's ``loss_weight``, 1.0).
        head_bias: give the classifier head a bias (the article's head has none).
        center_update: ``wen``: the centers move by Wen et al.'s rule, each by the mean offset of its
            batch members divided by ``1 + n_j`` (as in the article's code); ``autograd``: the plain gradient
            of the loss.
    """

    batch_kind = "labels"

    def __init__(self, *, classes: Annotated[int, Field(ge=2)] = 10, feature_dim: Annotated[int, Field(ge=1)] = 2,
                 center_weight: Annotated[float, Field(ge=0)] = 1.0, head_bias: bool = False,
                 center_update: Literal["wen", "autograd"] = "wen"):
        super().__init__()
        self.classes, self.center_weight, self.center_update = classes, center_weight, center_update
        self.head = nn.Linear(feature_dim, classes, bias=head_bias)
        self.centers = nn.Parameter(torch.randn(classes, feature_dim))

    def model_parameters(self) -> list[nn.Parameter]:
        return list(self.head.parameters())

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of every class for each feature row."""
        return F.log_softmax(self.head(features), dim=1)

    def center_loss(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.center_update == "wen":
            return _CenterDistance.apply(features, labels, self.centers)
        return (features - self.centers[labels]).pow(2).sum() / (2.0 * len(features))

    def forward(self, batch: EmbeddedBatch) -> torch.Tensor:
        features, labels = batch.embeddings[:, 0], batch.labels[:, 0]
        if features.shape[1] != self.centers.shape[1]:
            raise ToolkitError(
                f"loss.feature_dim = {self.centers.shape[1]} but the encoder gives {features.shape[1]}-D features; "
                "set loss.feature_dim to the encoder's output size."
            )
        if int(labels.max()) >= self.classes:
            raise ToolkitError(
                f"loss.classes = {self.classes} but the training labels go up to {int(labels.max())}; set loss.classes "
                "to the number of classes in the dataset."
            )
        nll = F.nll_loss(self.classify(features), labels)
        return nll + self.center_weight * self.center_loss(features, labels)
