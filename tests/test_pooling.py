"""The encoders' 2x2 max-pooling: the same values as max_pool2d without autograd, max_pool2d itself with it."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from toolkit_plugins.encoders.pooling import MaxPool2x2


def test_without_gradients_it_gives_exactly_what_max_pool2d_gives_nan_and_odd_sizes_included():
    x = torch.randn(3, 2, 7, 9)
    x[0, 0, 2, 3] = float("nan")
    with torch.no_grad():
        torch.testing.assert_close(MaxPool2x2()(x), F.max_pool2d(x, 2), rtol=0, atol=0, equal_nan=True)


def test_while_autograd_records_its_gradient_goes_to_one_maximum_of_each_window_as_max_pool2d_does():
    ties = torch.zeros(1, 1, 4, 4, requires_grad=True)  # every window is four equal maxima
    MaxPool2x2()(ties).sum().backward()
    expected = torch.zeros(1, 1, 4, 4, requires_grad=True)
    F.max_pool2d(expected, 2).sum().backward()
    assert torch.equal(ties.grad, expected.grad) and ties.grad.sum() == 4


def test_a_bfloat16_input_with_few_channels_gets_the_values_and_gradients_of_max_pool2d():
    x = torch.randn(4, 4, 8, 8).bfloat16().contiguous(memory_format=torch.channels_last)
    x[:, :, ::2] = 0.5  # ties
    mine, reference = x.clone().requires_grad_(), x.clone().requires_grad_()
    pooled = MaxPool2x2()(mine)
    expected = F.max_pool2d(reference, 2)
    gradient = torch.randn_like(expected)
    pooled.backward(gradient)
    expected.backward(gradient)
    assert pooled.dtype == torch.bfloat16 and torch.equal(pooled, expected)
    assert mine.grad.dtype == torch.bfloat16 and torch.equal(mine.grad, reference.grad)
