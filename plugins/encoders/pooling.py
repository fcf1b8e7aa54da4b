"""2x2 max-pooling with faster paths where no gradient is needed and for bfloat16 inputs with few channels."""

from __future__ import annotations

import torch
from torch import nn

FEW_CHANNELS = 8
"""Below this many channels PyTorch's channels-last bfloat16 max-pooling is slow; such inputs are pooled in float32."""


class MaxPool2x2(nn.MaxPool2d):
    """``nn.MaxPool2d(2)``, faster when no gradient is needed (evaluation, embedding) and for bfloat16 training.

    On the CPU ``max_pool2d`` also records where each maximum came from, for a backward pass, which makes it slower
    than taking the largest of the four strided views of the 2x2 windows. The values are identical, NaN included. While autograd records, it is ``nn.MaxPool2d(2)``
    itself, whose gradient goes to one maximum of each window (``torch.maximum`` would split it between equal ones);
    so it is while TorchScript traces it, so that an exported model holds the one plain operation whatever the mode.

    While autograd records, a bfloat16 input (``run.precision = "bfloat16"``) with fewer than 8 channels is pooled in
    float32 and the result rounded back, which gives the same values and gradients: PyTorch's bfloat16 kernel is
    slower than the float32 one with the conversions for so few channels.
    """

    def __init__(self) -> None:
        super().__init__(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or (x.requires_grad and torch.is_grad_enabled()) or torch.jit.is_tracing():
            if (x.dtype == torch.bfloat16 and x.dim() == 4 and x.shape[1] < FEW_CHANNELS and x.device.type == "cpu"
                    and not torch.jit.is_tracing()):
                return super().forward(x.float()).to(x.dtype)
            return super().forward(x)
        x = x[..., : x.shape[-2] // 2 * 2, : x.shape[-1] // 2 * 2]  # an odd last row or column is left out, as there
        return torch.maximum(torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2]),
                             torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2]))
