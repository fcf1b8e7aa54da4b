"""The encoders' BatchNorm2d: nn.BatchNorm2d's results, computed faster on channels-last tensors of few channels."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from toolkit.training.members import joint_members
from toolkit_plugins.encoders.batch_norm import BatchNorm2d


def _pair(channels: int = 4) -> tuple[nn.BatchNorm2d, BatchNorm2d]:
    reference = nn.BatchNorm2d(channels).double()
    with torch.no_grad():
        reference.weight.uniform_(0.5, 1.5)
        reference.bias.uniform_(-0.5, 0.5)
    fast = BatchNorm2d(channels).double()
    fast.load_state_dict(reference.state_dict())
    return reference, fast


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


def test_training_on_channels_last_input_gives_the_outputs_gradients_and_running_statistics_of_nn_batchnorm():
    reference, fast = _pair()
    x = torch.randn(6, 4, 5, 7, dtype=torch.float64) * 3 + 1
    upstream = torch.randn(6, 4, 5, 7, dtype=torch.float64)
    x_ref, x_fast = x.clone().requires_grad_(), _channels_last(x).requires_grad_()

    y_ref, y_fast = reference(x_ref), fast(x_fast)
    y_ref.backward(upstream)
    y_fast.backward(_channels_last(upstream))

    torch.testing.assert_close(y_fast, y_ref)
    torch.testing.assert_close(x_fast.grad, x_ref.grad)
    torch.testing.assert_close(fast.weight.grad, reference.weight.grad)
    torch.testing.assert_close(fast.bias.grad, reference.bias.grad)
    for name, buffer in reference.named_buffers():
        torch.testing.assert_close(dict(fast.named_buffers())[name], buffer)
    assert y_fast.is_contiguous(memory_format=torch.channels_last)


def test_evaluation_on_channels_last_input_normalises_with_the_running_statistics_as_nn_batchnorm_does():
    reference, fast = _pair()
    for module in (reference, fast):
        module.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
        module.running_var.copy_(torch.tensor([1.0, 4.0, 0.25, 2.0]))
        module.eval()
    x = torch.randn(3, 4, 6, 6, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(fast(_channels_last(x)), reference(x))


def test_a_relu_can_modify_its_output_in_place_during_training():
    _, fast = _pair()
    x = _channels_last(torch.randn(2, 4, 3, 3, dtype=torch.float64)).requires_grad_()
    torch.relu_(fast(x)).sum().backward()
    assert x.grad is not None


def test_inputs_in_the_usual_layout_go_to_nn_batchnorm_itself(monkeypatch):
    _, fast = _pair()
    calls = []
    monkeypatch.setattr(nn.BatchNorm2d, "forward", lambda self, x: calls.append(x) or x)
    fast(torch.randn(2, 4, 3, 3, dtype=torch.float64))
    assert len(calls) == 1


def test_its_state_dict_is_that_of_nn_batchnorm():
    assert BatchNorm2d(8).state_dict().keys() == nn.BatchNorm2d(8).state_dict().keys()


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_a_joint_pass_over_two_members_gives_what_two_separate_passes_give(layout):
    separate, joint = _pair()
    first, second = (torch.randn(5, 4, 6, 6, dtype=torch.float64) for _ in range(2))
    upstream = torch.randn(10, 4, 6, 6, dtype=torch.float64)
    inputs = [first.clone().requires_grad_(), second.clone().requires_grad_()]
    expected = torch.cat([separate(inputs[0]), separate(inputs[1])])
    expected.backward(upstream)
    both = torch.cat([first, second]).contiguous(memory_format=layout).requires_grad_()
    with joint_members(2):
        out = joint(both)
    out.backward(upstream.contiguous(memory_format=layout))

    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(both.grad, torch.cat([inputs[0].grad, inputs[1].grad]))
    torch.testing.assert_close(joint.weight.grad, separate.weight.grad)
    for name, buffer in separate.named_buffers():
        torch.testing.assert_close(dict(joint.named_buffers())[name], buffer)


def test_a_bfloat16_input_is_normalised_in_bfloat16_with_float32_statistics_and_parameter_gradients(monkeypatch):
    torch.manual_seed(0)
    reference, _ = _pair()
    fast = BatchNorm2d(4)
    fast.load_state_dict(reference.state_dict())
    x = (torch.randn(8, 4, 6, 6) * 3 + 1).bfloat16()
    upstream = torch.randn(8, 4, 6, 6).bfloat16()
    x_ref, x_fast = x.double().requires_grad_(), _channels_last(x).requires_grad_()
    y_ref = reference(x_ref)
    y_ref.backward(upstream.double())
    monkeypatch.setattr(nn.BatchNorm2d, "forward", lambda self, x: pytest.fail("not the fast path"))
    y_fast = fast(x_fast)
    y_fast.backward(_channels_last(upstream))

    def close(actual, expected, share):  # bfloat16 keeps 8 bits: errors up to `share` of the largest value
        torch.testing.assert_close(actual.double(), expected, rtol=0, atol=share * expected.abs().max().item())

    assert y_fast.dtype == x_fast.grad.dtype == torch.bfloat16
    assert fast.weight.grad.dtype == fast.running_mean.dtype == torch.float32
    close(y_fast, y_ref, 0.02)  # over 300 seeds at most 0.6 %
    close(x_fast.grad, x_ref.grad, 0.02)  # 0.8 %
    close(fast.weight.grad, reference.weight.grad, 0.05)  # 2.3 %: sums of bfloat16 products, rounded
    close(fast.bias.grad, reference.bias.grad, 0.03)  # 0.9 %
    close(fast.running_var, reference.running_var, 0.01)  # 0.1 %
