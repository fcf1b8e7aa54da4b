"""The timm encoder (the optional [timm] extra): any timm model with an embedding head, local weights read safely."""

from __future__ import annotations

import pytest
import torch

from toolkit.api import ToolkitError

timm = pytest.importorskip("timm", reason="timm is not installed (pip install 'metric-toolkit[timm]')")
from toolkit_plugins.encoders.timm_backbone import TimmBackbone  # noqa: E402


def test_pooled_features_go_through_the_head():
    encoder = TimmBackbone(model="resnet18", embedding_dim=16).eval()
    embeddings = encoder(torch.rand(2, 3, 32, 32))
    assert embeddings.shape == (2, 16)
    assert torch.allclose(embeddings.norm(dim=1), torch.ones(2), atol=1e-5)


@pytest.mark.slow
def test_a_dinov2_vit_runs_at_another_resolution_through_options():
    encoder = TimmBackbone(model="vit_small_patch14_dinov2", options={"img_size": 56}, embedding_dim=8).eval()
    with torch.no_grad():
        assert encoder(torch.rand(1, 3, 56, 56)).shape == (1, 8)


def test_weights_path_loads_a_timm_state_dict_with_its_classifier(tmp_path):
    torch.manual_seed(3)
    saved = timm.create_model("resnet18").state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(saved, path)
    encoder = TimmBackbone(model="resnet18", weights_path=str(path))
    assert torch.equal(encoder.backbone.conv1.weight, saved["conv1.weight"])


def test_weights_of_another_model_are_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save(timm.create_model("resnet34").state_dict(), path)
    with pytest.raises(ToolkitError, match="does not fit resnet18"):
        TimmBackbone(model="resnet18", weights_path=str(path))


def test_an_unknown_model_suggests_close_names():
    with pytest.raises(ToolkitError, match="Did you mean 'resnet18'"):
        TimmBackbone(model="resnet18x")


def test_offline_pretrained_weights_say_how_to_use_weights_path(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ToolkitError, match="could not fetch the weights.*weights_path"):
        TimmBackbone(model="resnet18.a1_in1k", pretrained=True)
