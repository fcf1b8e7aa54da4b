"""An augmentation step: salt-and-pepper noise, on one uint8 image at a time."""

from __future__ import annotations

import torch


class SaltAndPepper:
    """Sets a random share of an image's pixels to black or white, as a noisy sensor would.

    Called on one ``uint8`` image ``(C, H, W)`` at a time; draws from torch's global generator, which the run seeds.

    Args:
        amount: share of the pixels changed.
    """

    def __init__(self, *, amount: float = 0.02):
        if not 0.0 <= amount <= 1.0:
            raise ValueError(f"amount must be a share between 0 and 1, got {amount}")
        self.amount = amount

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        hit = torch.rand(image.shape[1:]) < self.amount
        white = torch.rand(image.shape[1:]) < 0.5
        noise = torch.where(white, 255, 0).to(image.dtype)
        return torch.where(hit, noise, image)
