"""Exporting a run's encoder for use outside the toolkit (TorchScript or ONNX), checked against PyTorch.

The exported model takes float images ``(N, C, H, W)`` already scaled and normalised as in training; the
transform (shape, mean, std) travels inside the file (TorchScript extra file ``transform.json``, ONNX metadata
``toolkit.imagedata.transform``) so a program using it knows how to prepare images.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from toolkit.runfolder import rundir
from toolkit.errors import ToolkitError
from toolkit.model.trained import TrainedModel

FORMATS = ("torchscript", "onnx")
FILE_NAMES = {"torchscript": "encoder.torchscript.pt", "onnx": "encoder.onnx"}
CHECK_BATCH = 16
TOLERANCE = 1e-4


@dataclass
class ExportResult:
    path: Path
    format: str
    max_difference: float
    batch: int


def check_batch(model: TrainedModel, size: int = CHECK_BATCH, seed: int = 0) -> torch.Tensor:
    """A batch of random uint8 images in the run's shape, scaled and normalised as in training."""
    t = model.transform
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (size, t.channels, t.height, t.width), generator=generator, dtype=torch.uint8)
    return model.transform.image_set(pixels).batch(torch.arange(size))


def export(model: TrainedModel, fmt: str, output: Path | None = None) -> ExportResult:
    """Write the encoder as ``fmt`` (default path: inside the run folder), then check its outputs match."""
    if fmt not in FORMATS:
        raise ToolkitError(f"Unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    path = Path(output) if output else model.run_dir / FILE_NAMES[fmt]
    batch = check_batch(model)
    with torch.inference_mode():
        expected = model.encoder(batch).numpy()
    if fmt == "torchscript":
        got = _torchscript(model, batch, path)
    else:
        got = _onnx(model, batch, path)
    difference = float(np.abs(got - expected).max()) if expected.size else 0.0
    if not difference <= TOLERANCE * max(1.0, float(np.abs(expected).max())):
        path.unlink(missing_ok=True)
        raise ToolkitError(
            f"The {fmt} export of {model.run_dir} gives outputs up to {difference:.3g} away from the PyTorch encoder on a "
            f"batch of {len(batch)} images, so it was not kept. The encoder {model.recipe.encoder.name!r} may use an "
            "operation the format does not support; try the other format."
        )
    return ExportResult(path, fmt, difference, len(batch))


def _transform_json(model: TrainedModel) -> str:
    return json.dumps({**model.transform.as_dict(), "input": "float images (N, C, H, W): pixels / 255, then (x - mean) / std"})


def _torchscript(model: TrainedModel, batch: torch.Tensor, path: Path) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model.encoder, batch)
    except Exception as exc:  # tracing runs plugin code: any failure means this encoder cannot be traced
        raise ToolkitError(f"The encoder {model.recipe.encoder.name!r} of {model.run_dir} cannot be traced to TorchScript "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); try --format onnx.") from None
    extra = {"transform.json": _transform_json(model)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch >= 2.10 suggests torch.export; TorchScript still loads everywhere
        rundir.write_atomic(path, lambda tmp: torch.jit.save(traced, str(tmp), _extra_files=extra))
        loaded = torch.jit.load(str(path), map_location="cpu")
    with torch.inference_mode():
        return loaded(batch).numpy()


def _onnx(model: TrainedModel, batch: torch.Tensor, path: Path) -> np.ndarray:
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ToolkitError(
            f"--format onnx needs the onnx and onnxruntime packages ({exc.name} is not installed). Install them with "
            "`pip install 'metric-toolkit[onnx]'` (or `pip install onnx onnxruntime`), or export with --format torchscript, "
            "which needs nothing extra."
        ) from None

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model.encoder, (batch,), str(tmp), input_names=["images"], output_names=["embeddings"],
                              dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}}, dynamo=False)
        proto = onnx.load(str(tmp))
        entry = proto.metadata_props.add()
        entry.key, entry.value = "toolkit.imagedata.transform", _transform_json(model)
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))

    try:
        rundir.write_atomic(path, write)
    except ToolkitError:
        raise
    except Exception as exc:  # the exporter runs plugin code
        raise ToolkitError(f"The encoder {model.recipe.encoder.name!r} of {model.run_dir} cannot be exported to ONNX "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); try --format torchscript.") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": batch.numpy()})[0]
