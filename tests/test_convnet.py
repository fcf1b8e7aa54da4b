"""The convnet encoder and its training-time augmentation."""

from __future__ import annotations

import torch

from toolkit_plugins.encoders.augment import RandomShiftFlip
from toolkit_plugins.encoders.convnet import ConvNet


def test_convnet_embeds_and_can_normalise():
    encoder = ConvNet(stages=[[4], [8]], embedding_dim=5, normalize=True)
    z = encoder(torch.rand(3, 1, 28, 28))
    assert z.shape == (3, 5) and torch.allclose(z.norm(dim=1), torch.ones(3))
    assert ConvNet(stages=[[4], [8]], embedding_dim=5)(torch.rand(2, 1, 8, 8)).shape == (2, 5)


def test_shift_moves_each_image_by_a_whole_pixel_offset_within_the_limit():
    torch.manual_seed(0)
    images = torch.zeros(64, 1, 12, 12)
    images[:, :, 5, 6] = 1.0  # one bright pixel, away from the border
    shifted = RandomShiftFlip(shift=2).train()(images)
    assert shifted.shape == images.shape
    where = shifted[:, 0].flatten(1).argmax(dim=1)
    rows, cols = where // 12, where % 12
    assert ((rows - 5).abs() <= 2).all() and ((cols - 6).abs() <= 2).all()
    assert (shifted.flatten(1).sum(dim=1) == 1).all()  # moved, not blurred
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10  # each image gets its own offset


def test_hflip_mirrors_about_half_the_batch():
    torch.manual_seed(0)
    images = torch.rand(400, 1, 6, 6)
    out = RandomShiftFlip(hflip=True).train()(images)
    mirrored = (out == images.flip(-1)).flatten(1).all(dim=1)
    unchanged = (out == images).flatten(1).all(dim=1)
    assert (mirrored | unchanged).all() and 150 < mirrored.sum() < 250


def test_augmentation_is_off_in_evaluation():
    encoder = ConvNet(stages=[[4]], embedding_dim=3, shift=3, hflip=True).eval()
    images = torch.rand(4, 1, 10, 10)
    assert torch.equal(encoder(images), encoder(images))


def test_erase_blanks_one_rectangle_in_the_chosen_share_of_images():
    torch.manual_seed(0)
    images = torch.ones(400, 1, 12, 12)
    out = RandomShiftFlip(erase=0.5).train()(images)
    blanked = out == 0
    touched = blanked.flatten(1).any(dim=1)
    assert 150 < touched.sum() < 250
    for mask in blanked[touched, 0]:
        rows, cols = mask.any(dim=1), mask.any(dim=0)
        assert mask.sum() == rows.sum() * cols.sum()  # a full rectangle
        assert rows.sum() <= 6 and cols.sum() <= 6  # at most half of each side
        assert torch.equal(rows.nonzero().flatten(), torch.arange(rows.nonzero().min(), rows.nonzero().max() + 1))


def test_pool_size_keeps_a_coarse_layout_before_the_head():
    encoder = ConvNet(stages=[[4], [8]], embedding_dim=5, pool_size=3)
    assert encoder.head.in_features == 8 * 3 * 3
    assert encoder(torch.rand(2, 1, 28, 28)).shape == (2, 5)


def test_mirror_average_gives_a_mirror_image_the_same_embedding_outside_training():
    torch.manual_seed(0)
    encoder = ConvNet(stages=[[4], [8]], embedding_dim=5, normalize=True, mirror_average=True).eval()
    images = torch.rand(3, 1, 12, 12)
    assert torch.allclose(encoder(images), encoder(images.flip(-1)), atol=1e-6)
    plain = ConvNet(stages=[[4], [8]], embedding_dim=5, normalize=True).eval()
    plain.load_state_dict(encoder.state_dict())
    assert not torch.allclose(plain(images), plain(images.flip(-1)), atol=1e-4)
