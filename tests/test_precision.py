"""run.precision = "bfloat16": the encoder trains under bfloat16 autocast, the loss and the weights stay float32."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from toolkit.api import Batch, EmbeddedBatch
from toolkit.imagedata.datasets import ImageSet
from toolkit.training.runner import cpu_has_bfloat16, run, training_precision
from toolkit.training.epoch import BatchLoss


class _LinearEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(16, 3)
        self.output_dtypes: list[torch.dtype] = []

    def forward(self, x):
        z = self.linear(x.flatten(1))
        self.output_dtypes.append(z.dtype)
        return z


class _RecordsDtype(nn.Module):
    def __init__(self):
        super().__init__()
        self.seen: list[torch.dtype] = []

    def forward(self, batch: EmbeddedBatch) -> torch.Tensor:
        self.seen.append(batch.embeddings.dtype)
        return batch.embeddings.pow(2).mean()


def _labels_batch() -> tuple[ImageSet, Batch]:
    images = ImageSet(torch.randint(0, 256, (6, 1, 4, 4), dtype=torch.uint8), torch.arange(6) % 2)
    indices = torch.arange(6).unsqueeze(1)
    return images, Batch("labels", indices, images.labels)


@pytest.mark.parametrize(("precision", "encoder_dtype"), [("float32", torch.float32), ("bfloat16", torch.bfloat16),
                                                            ("float16", torch.float16)])
def test_the_encoder_runs_in_the_chosen_precision_and_the_loss_gets_float32(precision, encoder_dtype):
    encoder, loss = _LinearEncoder(), _RecordsDtype()
    images, batch = _labels_batch()
    value = BatchLoss(encoder, loss, joint=False, precision=precision)(images, batch, torch.device("cpu"))
    value.backward()
    assert encoder.output_dtypes == [encoder_dtype]
    assert loss.seen == [torch.float32]
    assert encoder.linear.weight.dtype == torch.float32 and encoder.linear.weight.grad.dtype == torch.float32


@pytest.mark.slow
def test_a_bfloat16_run_trains_a_cnn_about_as_well_as_float32(quick_recipe, tmp_path):
    cnn = ('encoder={name="small_cnn", image_size=8, embedding_dim=8}', "run.epochs=1")
    usual = run(quick_recipe, overrides=cnn, output=str(tmp_path / "usual"), progress=False).metrics
    half = run(quick_recipe, overrides=(*cnn, 'run.precision="bfloat16"'), output=str(tmp_path / "half"),
               progress=False).metrics
    assert half["epochs"][0]["loss"] == pytest.approx(usual["epochs"][0]["loss"], rel=0.05)
    assert half["evaluation"]["knn"]["precision_at_1"] == pytest.approx(usual["evaluation"]["knn"]["precision_at_1"], abs=0.05)


def test_bfloat16_on_a_cpu_without_bfloat16_instructions_warns_that_it_is_slower(quick_recipe, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("toolkit.training.runner.cpu_has_bfloat16", lambda: False)
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        run(quick_recipe, overrides=("run.epochs=1", 'run.precision="bfloat16"', "evaluators=[]"),
            output=str(tmp_path / "out"), progress=False)
    assert any('run.precision = "bfloat16"' in r.getMessage() and "slower" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("native", "expected"), [(True, "bfloat16"), (False, "float32"), (None, "float32")])
def test_auto_trains_in_bfloat16_only_where_the_cpu_computes_it_natively(quick_recipe, tmp_path, monkeypatch, native,
                                                                        expected):
    monkeypatch.setattr("toolkit.training.runner.cpu_has_bfloat16", lambda: native)
    metrics = run(quick_recipe, overrides=("run.epochs=1", 'run.precision="auto"', "evaluators=[]"),
                  output=str(tmp_path / "out"), progress=False).metrics
    assert metrics["precision"] == expected


def test_a_cpu_whose_bfloat16_support_torch_cannot_report_counts_as_unknown_and_auto_picks_float32(monkeypatch):
    def cannot_tell():
        raise RuntimeError("oneDNN is not available")

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", cannot_tell)
    assert cpu_has_bfloat16() is None
    assert training_precision("auto", torch.device("cpu")) == "float32"


def test_a_float16_run_keeps_its_gradient_scaler_in_the_checkpoint(quick_recipe, tmp_path):
    overrides = ('run.precision="float16"', "run.epochs=2")
    result = run(quick_recipe, overrides=overrides, output=str(tmp_path / "half"), progress=False)
    saved = torch.load(tmp_path / "half" / "checkpoint.pt", weights_only=True)
    assert result.metrics["precision"] == "float16"
    assert saved["scaler"]["scale"] > 0 and saved["scaler"]["_growth_tracker"] >= 0
