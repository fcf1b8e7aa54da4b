"""BatchNorm2d with a fast path for channels-last tensors with few channels."""

from __future__ import annotations

import torch
from torch import nn

from toolkit.api import batch_members

CHANNELS_LAST = torch.channels_last
FEW_CHANNELS = 32
"""Below this many channels the fast path is taken; from here on PyTorch's own channels-last kernels do well."""


def _rows(x: torch.Tensor) -> torch.Tensor:
    """A channels-last ``N×C×H×W`` tensor as the ``(N·H)×(W·C)`` matrix it is in memory (a view)."""
    n, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n * h, w * c)


def _tiled(values: torch.Tensor, width: int, dtype: torch.dtype) -> torch.Tensor:
    """Per-channel values ``(P, C)`` repeated ``width`` times, ``(P, 1, W·C)``: one value per column of a memory row,
    in the ``dtype`` of the rows (so that no elementwise operation mixes types, which would copy the rows)."""
    parts, channels = values.shape
    return values.to(dtype).unsqueeze(1).expand(parts, width, channels).reshape(parts, 1, width * channels)


def _per_channel(column_values: torch.Tensor, channels: int) -> torch.Tensor:
    """Fold ``(P, W·C)`` column values of :func:`_rows` into ``(P, C)`` channel sums, in at least float32."""
    return column_values.view(len(column_values), -1, channels).sum(1, dtype=_at_least_float32(column_values.dtype))


def _at_least_float32(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


class _TrainingBatchNorm(torch.autograd.Function):
    """Batch statistics, normalisation and its exact gradient on the rows of a channels-last tensor, computed
    separately for each of ``parts`` consecutive equal parts of the batch.

    The rows of the parts are viewed as one ``(parts, rows per part, W·C)`` tensor, and per-channel vectors are tiled
    to the row length ``W·C``, so that every elementwise operation runs once over long contiguous rows (instead of
    broadcasting a vector of a few channels into the innermost dimension, or once per part); each of the forward and
    backward passes reads the input twice and writes the output once.

    A bfloat16 input (under ``run.precision = "bfloat16"``) stays bfloat16 through the elementwise operations; the
    per-channel statistics and factors are computed in float32 from the column sums.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps, parts: int, stats_out: list):
        n, c, h, w = x.shape
        rows = _rows(x).view(parts, -1, w * c)
        column_stats = [torch.batch_norm_update_stats(part, None, None, 0.0) for part in rows]  # one pass per part
        stats_type = _at_least_float32(x.dtype)
        column_mean = torch.stack([m for m, _ in column_stats]).to(stats_type).view(parts, w, c)
        column_var = torch.stack([v for _, v in column_stats]).to(stats_type).view(parts, w, c)
        mean = column_mean.mean(1)
        var = column_var.mean(1) + (column_mean - mean.unsqueeze(1)).square().mean(1)
        invstd = (var + eps).rsqrt()
        scale = weight * invstd
        y = torch.empty_like(x, memory_format=CHANNELS_LAST)
        torch.addcmul(_tiled(bias - mean * scale, w, x.dtype), rows, _tiled(scale, w, x.dtype),
                      out=_rows(y).view(parts, -1, w * c))
        stats_out.extend(zip(mean, var))
        ctx.save_for_backward(x, mean, invstd, weight)
        ctx.parts = parts
        return y

    @staticmethod
    def backward(ctx, grad_y):
        x, mean, invstd, weight = ctx.saved_tensors
        n, c, h, w = x.shape
        parts = ctx.parts
        count = n * h * w // parts
        rows = _rows(x).view(parts, -1, w * c)
        grad_rows = _rows(grad_y.contiguous(memory_format=CHANNELS_LAST)).view(parts, -1, w * c)
        sum_grad = _per_channel(grad_rows.sum(1), c)
        grad_centred = _per_channel((grad_rows * rows).sum(1), c) - mean * sum_grad  # Σ grad·(x - mean)
        k = weight * invstd
        x_factor = -k * invstd * invstd * grad_centred / count
        grad_x = torch.empty_like(grad_y, memory_format=CHANNELS_LAST)
        grad_x_rows = _rows(grad_x).view(parts, -1, w * c)
        torch.addcmul(_tiled(-k * sum_grad / count - x_factor * mean, w, x.dtype), grad_rows, _tiled(k, w, x.dtype),
                      out=grad_x_rows)
        grad_x_rows.addcmul_(rows, _tiled(x_factor, w, x.dtype))
        grad_weight, grad_bias = (grad_centred * invstd).sum(0), sum_grad.sum(0)
        return grad_x, grad_weight.to(weight.dtype), grad_bias.to(weight.dtype), None, None, None


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` (same parameters, buffers and state dict), faster on channels-last inputs with few channels.

    PyTorch's batch norm on a channels-last tensor of a few channels is several times slower than on the usual
    layout, which would cancel what channels-last convolutions gain (``run.channels_last``). For such inputs this module computes the same batch
    statistics, running averages and gradients with operations over whole rows of the tensor's memory. Any other
    input, and any configuration other than the default affine, tracked, momentum-averaged one, goes to
    ``nn.BatchNorm2d`` itself.

    In a joint forward pass over the members of pair or triplet batches (``run.joint_forward``) it computes the
    batch statistics of each member's part separately (:func:`toolkit.api.batch_members`), in member order, so that
    outputs, gradients and running statistics are those of one pass per member.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = batch_members() if self.training else 1
        if parts < 1 or x.shape[0] % parts:
            parts = 1
        if not self._fast_path_applies(x):
            if parts == 1:
                return super().forward(x)
            return torch.cat([super(BatchNorm2d, self).forward(part) for part in x.chunk(parts)])
        if self.training:
            return self._normalise_with_batch_statistics(x, parts)
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        w = x.shape[-1]
        y = torch.empty_like(x, memory_format=CHANNELS_LAST)
        torch.addcmul(_tiled(shift[None], w, x.dtype)[0], _rows(x), _tiled(scale[None], w, x.dtype)[0], out=_rows(y))
        return y

    def _fast_path_applies(self, x: torch.Tensor) -> bool:
        return (x.dim() == 4 and x.shape[1] < FEW_CHANNELS and x.shape[1] > 1 and x.device.type == "cpu"
                and x.is_contiguous(memory_format=CHANNELS_LAST) and not x.is_contiguous()
                and self.affine and self.track_running_stats and self.momentum is not None
                and x.dtype in (torch.float32, torch.float64, torch.bfloat16) and not torch.jit.is_tracing()
                and (self.training or not torch.is_grad_enabled()))

    def _normalise_with_batch_statistics(self, x: torch.Tensor, parts: int) -> torch.Tensor:
        stats: list[tuple[torch.Tensor, torch.Tensor]] = []
        y = _TrainingBatchNorm.apply(x, self.weight, self.bias, self.eps, parts, stats)
        count = x.numel() // x.shape[1] // parts
        with torch.no_grad():
            for mean, var in stats:
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * (count / max(count - 1, 1)), self.momentum)
                self.num_batches_tracked.add_(1)
        return y
