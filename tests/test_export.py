"""`toolkit export`: TorchScript and ONNX copies of the encoder that compute what the PyTorch encoder does."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tests.conftest import copy_run
from toolkit.cli.main import main
from toolkit.model.export import check_batch
from toolkit.training.runner import run
from toolkit.model.trained import load_run


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _expected(run_dir):
    model = load_run(run_dir)
    batch = check_batch(model, size=5, seed=1)
    with torch.inference_mode():
        return batch, model.encoder(batch).numpy()


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_export_loads_without_the_toolkit_and_gives_the_same_embeddings(trained_run, tmp_path):
    run_dir = copy_run(trained_run, tmp_path / "run")
    result = invoke("export", run_dir, "--format", "torchscript")
    assert result.exit_code == 0, result.output
    assert "outputs match PyTorch" in result.output
    extra = {"transform.json": ""}
    loaded = torch.jit.load(str(run_dir / "encoder.torchscript.pt"), _extra_files=extra)
    batch, expected = _expected(run_dir)
    np.testing.assert_allclose(loaded(batch).detach().numpy(), expected, atol=1e-5)
    assert json.loads(extra["transform.json"])["height"] == 8


@pytest.mark.slow
def test_torch_export_is_the_default_and_loads_with_torch_alone_for_any_batch_size(trained_run, tmp_path):
    run_dir = copy_run(trained_run, tmp_path / "run")
    result = invoke("export", run_dir)
    assert result.exit_code == 0, result.output
    assert f"Wrote {run_dir / 'encoder.pt2'} (torch-export); outputs match PyTorch" in result.output
    extra = {"transform.json": ""}
    with open(run_dir / "encoder.pt2", "rb") as archive:
        program = torch.export.load(archive, extra_files=extra)
    batch, expected = _expected(run_dir)  # 5 images; the check ran on 16
    np.testing.assert_allclose(program.module()(batch).detach().numpy(), expected, atol=1e-5)
    assert json.loads(extra["transform.json"])["channels"] == 1


@pytest.mark.slow
def test_onnx_export_runs_in_onnxruntime_and_gives_the_same_embeddings(trained_run, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'metric-toolkit[onnx]')")
    onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'metric-toolkit[onnx]')")
    out = tmp_path / "model.onnx"
    result = invoke("export", trained_run, "--format", "onnx", "-o", out)
    assert result.exit_code == 0, result.output
    batch, expected = _expected(trained_run)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"images": batch.numpy()})[0], expected, atol=1e-5)
    metadata = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(metadata["toolkit.imagedata.transform"])["channels"] == 1


def test_onnx_without_its_packages_says_what_to_install(trained_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` fail as if it were not installed
    result = invoke("export", trained_run, "--format", "onnx", "-o", tmp_path / "m.onnx")
    assert result.exit_code == 2 and "metric-toolkit[onnx]" in result.output and "--format torch-export" in result.output
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_a_convolutional_encoder_with_batchnorm_exports_to_every_format(write_recipe, tiny_mnist, tmp_path):
    recipe = write_recipe(f"""
        [run]
        epochs = 1
        [dataset]
        name = "mnist"
        data_dir = "{tiny_mnist}"
        limit = 50
        [sampler]
        name = "pairs"
        batch_size = 32
        [encoder]
        name = "small_cnn"
        [loss]
        name = "contrastive"
    """)
    run_dir = run(recipe, output=str(tmp_path / "run"), progress=False).run_dir
    formats = ["torch-export", "torchscript"] + (["onnx"] if _have("onnx") and _have("onnxruntime") else [])
    for fmt in formats:
        result = invoke("export", run_dir, "--format", fmt)
        assert result.exit_code == 0, result.output
        assert "(N, 1, 28, 28)" in result.output


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
