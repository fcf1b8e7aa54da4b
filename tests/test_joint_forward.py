"""run.joint_forward: one encoder pass over every member of a batch, the same embeddings as separate passes."""

from __future__ import annotations

import torch
from torch import nn

from toolkit.api import Batch, batch_members
from toolkit.imagedata.datasets import ImageSet
from toolkit.training.epoch import embed_batch


class _RecordsMembers(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(16, 3)
        self.seen: list[int] = []

    def forward(self, x):
        self.seen.append(batch_members())
        return self.linear(x.flatten(1))


def _triplets() -> tuple[ImageSet, Batch]:
    images = ImageSet(torch.randint(0, 256, (10, 1, 4, 4), dtype=torch.uint8), torch.arange(10) % 2)
    indices = torch.tensor([[0, 2, 1], [3, 5, 4], [6, 8, 7], [9, 1, 0]])
    return images, Batch("triplets", indices, images.labels[indices])


def test_a_joint_pass_embeds_each_member_as_a_separate_pass_does_and_tells_the_encoder_how_many_members():
    images, batch = _triplets()
    encoder = _RecordsMembers()
    joint = embed_batch(encoder, images, batch, torch.device("cpu"), joint=True)
    separate = embed_batch(encoder, images, batch, torch.device("cpu"), joint=False)
    torch.testing.assert_close(joint.embeddings, separate.embeddings)
    assert encoder.seen == [3, 1, 1, 1] and batch_members() == 1
