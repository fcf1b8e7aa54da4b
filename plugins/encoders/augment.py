"""Training-time image augmentation as batched tensor operations (no per-image Python loop)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RandomShiftFlip(nn.Module):
    """Shifts every image of a batch by its own random whole-pixel offset, mirrors a random half, and blanks a
    random rectangle in a share ``erase`` of them (random erasing; the rectangle is set to 0, the background of
    unnormalised images and the mean of normalised ones, and is at most half the height and half the width).

    Active only in training mode: ``encoder.eval()`` (evaluation, embedding) sees the images unchanged.
    Shifted-in borders repeat the edge pixels, so the padding matches the background whatever the
    normalisation. Draws come from torch's global generator, which the run seeds and checkpoints.
    """

    def __init__(self, shift: int = 0, hflip: bool = False, erase: float = 0.0):  # checked by the encoder's signature
        super().__init__()
        self.shift, self.hflip, self.erase = shift, hflip, erase

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or (self.shift == 0 and not self.hflip and not self.erase):
            return x
        if self.hflip:
            flip = torch.rand(len(x), device=x.device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if self.shift:
            x = self._shift(x)
        if self.erase:
            x = self._erase(x)
        return x

    def _erase(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape

        def span(size: int) -> torch.Tensor:
            """For each image, a mask over ``size`` positions: one random run of 1 .. size // 2 of them."""
            length = torch.randint(1, max(size // 2, 1) + 1, (b,), device=x.device)
            start = (torch.rand(b, device=x.device) * (size - length + 1)).long()
            positions = torch.arange(size, device=x.device)
            return (positions >= start[:, None]) & (positions < (start + length)[:, None])

        chosen = torch.rand(b, device=x.device) < self.erase
        blank = span(h)[:, :, None] & span(w)[:, None, :] & chosen[:, None, None]
        return x.masked_fill(blank[:, None], 0.0)

    def _shift(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        s = self.shift
        padded = F.pad(x, (s, s, s, s), mode="replicate")
        dy = torch.randint(0, 2 * s + 1, (b,), device=x.device)
        dx = torch.randint(0, 2 * s + 1, (b,), device=x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]
        batch = torch.arange(b, device=x.device)[:, None, None]
        return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()

    def extra_repr(self) -> str:
        return f"shift={self.shift}, hflip={self.hflip}, erase={self.erase}"
