"""Exporting a run's encoder for use outside the toolkit (torch.export, ONNX or TorchScript), checked against PyTorch.

The exported model takes float images ``(N, C, H, W)`` already scaled and normalised as in training; the
transform (shape, mean, std) travels inside the file (extra file ``transform.json`` of a ``.pt2`` or TorchScript
archive, ONNX metadata ``toolkit.imagedata.transform``) so a program using it knows how to prepare images.
``torch-export`` is the format PyTorch develops further; TorchScript is deprecated in PyTorch.
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

FORMATS = ("torch-export", "onnx", "torchscript")
FILE_NAMES = {"torch-export": "encoder.pt2", "torchscript": "encoder.torchscript.pt", "onnx": "encoder.onnx"}
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
    writers = {"torch-export": _torch_export, "torchscript": _torchscript, "onnx": _onnx}
    got = writers[fmt](model, batch, path)
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


def _torch_export(model: TrainedModel, batch: torch.Tensor, path: Path) -> np.ndarray:
    """An ``ExportedProgram`` with a dynamic batch size, saved as a ``.pt2`` archive and loaded back to check it."""
    import io

    try:
        program = torch.export.export(model.encoder, (batch,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    except Exception as exc:  # exporting runs plugin code: any failure means this encoder cannot be exported this way
        raise ToolkitError(f"The encoder {model.recipe.encoder.name!r} of {model.run_dir} cannot be exported with "
                           f"torch.export ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                           "try --format onnx.") from None
    archive = io.BytesIO()  # written through a buffer: torch.export wants a .pt2 name, and the temporary file has none
    torch.export.save(program, archive, extra_files={"transform.json": _transform_json(model)})
    rundir.write_atomic(path, lambda tmp: tmp.write_bytes(archive.getvalue()))
    with open(path, "rb") as saved:
        loaded = torch.export.load(saved)
    with torch.inference_mode():
        return loaded.module()(batch).numpy()


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
            "`pip install 'metric-toolkit[onnx]'` (or `pip install onnx onnxruntime`), or export with --format torch-export, "
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
                           f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); try --format torch-export.") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": batch.numpy()})[0]
