"""The center-loss CNN starts with a feature of useful size, unless asked for PyTorch's default init."""

import torch

from toolkit_plugins.encoders.center_cnn import CenterCNN


def _feature_std(init: str) -> float:
    torch.manual_seed(0)
    images = torch.rand(64, 1, 28, 28).sub(0.1307).div(0.3081)
    with torch.no_grad():
        return float(CenterCNN(init=init)(images).std(0).mean())


def test_kaiming_init_keeps_the_2d_feature_at_a_trainable_scale():
    assert _feature_std("kaiming") > 0.05


def test_pytorch_default_init_shrinks_the_feature_by_orders_of_magnitude():
    assert _feature_std("pytorch") < 0.1 * _feature_std("kaiming")
