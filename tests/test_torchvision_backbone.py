"""The torchvision encoder: any classification model by name, local weights read safely, a head, freezing."""

from __future__ import annotations

import pickle
import urllib.error

import pytest
import torch
import torchvision

from toolkit.api import ToolkitError
from toolkit_plugins.encoders.torchvision_backbone import TorchvisionBackbone


def test_embeddings_have_the_head_size_and_unit_length():
    encoder = TorchvisionBackbone(arch="resnet18", embedding_dim=24).eval()
    embeddings = encoder(torch.rand(3, 3, 32, 32))
    assert embeddings.shape == (3, 24)
    assert torch.allclose(embeddings.norm(dim=1), torch.ones(3), atol=1e-5)


def test_grey_images_are_read_as_three_channels():
    encoder = TorchvisionBackbone(arch="resnet18").eval()
    grey = torch.rand(2, 1, 32, 32)
    assert torch.equal(encoder(grey), encoder(grey.expand(-1, 3, -1, -1)))


def test_weights_path_loads_the_saved_backbone(resnet18_file):
    encoder = TorchvisionBackbone(arch="resnet18", weights_path=str(resnet18_file))
    saved = torch.load(resnet18_file, weights_only=True)
    assert torch.equal(encoder.backbone.conv1.weight, saved["conv1.weight"])
    assert torch.equal(encoder.backbone.layer4[1].bn2.running_var, saved["layer4.1.bn2.running_var"])


def test_weights_of_another_arch_name_the_keys_that_do_not_fit(tmp_path):
    path = tmp_path / "mobilenet.pth"
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), path)
    with pytest.raises(ToolkitError, match=r"does not fit resnet18: missing keys conv1\.weight.*unexpected keys features"):
        TorchvisionBackbone(arch="resnet18", weights_path=str(path))


def test_weights_with_other_shapes_are_refused(tmp_path):
    path = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34().state_dict(), path)
    with pytest.raises(ToolkitError, match="does not fit resnet18"):
        TorchvisionBackbone(arch="resnet18", weights_path=str(path))


def test_a_file_that_is_not_a_state_dict_is_refused(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(ToolkitError, match="holds a list, not a state dict"):
        TorchvisionBackbone(arch="resnet18", weights_path=str(path))


class _WritesAFile:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


def test_a_weights_file_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    target = tmp_path / "written-by-the-pickle"
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"conv1.weight": _WritesAFile(target)}))
    with pytest.raises(ToolkitError, match="refused: loading it would run code"):
        TorchvisionBackbone(arch="resnet18", weights_path=str(path))
    assert not target.exists()


def test_an_unknown_arch_suggests_close_names():
    with pytest.raises(ToolkitError, match="Did you mean 'resnet50'"):
        TorchvisionBackbone(arch="resnet5O")


def test_an_unknown_weights_name_lists_the_known_ones():
    with pytest.raises(ToolkitError, match="Known: IMAGENET1K_V1, DEFAULT"):
        TorchvisionBackbone(arch="resnet18", weights="IMAGENET22K")


def test_offline_default_weights_say_how_to_use_weights_path(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(ToolkitError, match=r"could not download .*resnet18-f37072fd\.pth.*weights_path"):
        TorchvisionBackbone(arch="resnet18", weights="DEFAULT")


def test_an_image_smaller_than_the_arch_allows_is_a_clear_error():
    encoder = TorchvisionBackbone(arch="googlenet")
    with pytest.raises(ToolkitError, match="googlenet needs images of at least 15x15 pixels, got 8x8"):
        encoder(torch.rand(2, 3, 8, 8))


def _train_step(encoder):
    optimizer = torch.optim.Adam([p for p in encoder.parameters()], lr=0.01)
    encoder.train()
    loss = encoder(torch.rand(4, 3, 32, 32)).sum()
    loss.backward()
    optimizer.step()


def test_a_frozen_backbone_stays_bit_identical_while_the_head_trains():
    encoder = TorchvisionBackbone(arch="resnet18", freeze_epochs=1, normalize=False)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    _train_step(encoder)
    after = encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("backbone."))
    assert not torch.equal(before["head.0.weight"], after["head.0.weight"])


def test_the_backbone_trains_once_its_frozen_epochs_are_over():
    encoder = TorchvisionBackbone(arch="resnet18", freeze_epochs=1, normalize=False)
    encoder.set_epoch(2)
    before = encoder.backbone.conv1.weight.clone()
    _train_step(encoder)
    assert not torch.equal(before, encoder.backbone.conv1.weight)


def test_frozen_batch_norm_keeps_its_statistics_and_weights():
    encoder = TorchvisionBackbone(arch="resnet18", freeze_batch_norm=True, normalize=False)
    before = {k: v.clone() for k, v in encoder.state_dict().items() if ".bn" in k}
    _train_step(encoder)
    assert all(torch.equal(v, encoder.state_dict()[k]) for k, v in before.items())
    assert encoder.backbone.conv1.weight.grad.abs().sum() > 0  # the convolutions still train


@pytest.mark.parametrize("arch", ["convnext_tiny", "efficientnet_b0", "vit_b_16", "mobilenet_v3_small"])
def test_other_families_get_an_embedding_head(arch):
    encoder = TorchvisionBackbone(arch=arch, embedding_dim=8).eval()
    size = 224 if arch.startswith("vit") else 64
    with torch.no_grad():
        assert encoder(torch.rand(1, 3, size, size)).shape == (1, 8)
