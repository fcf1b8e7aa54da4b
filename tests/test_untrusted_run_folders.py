"""A run folder from someone else: a saved gallery that claims too much or points elsewhere is not used, a
non-finite distance is valid JSON, and reports show names as text, never as HTML."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner

from tests.conftest import copy_run, write_split_images
from toolkit.api import ToolkitError
from toolkit.cli.main import main
from toolkit.model.search import load_saved_gallery, split_source
from toolkit.recipes.recipe import ComponentSpec
from toolkit.reporting.results_table import RunRow, format_markdown
from toolkit.runfolder.data_paths import check_data_paths
from toolkit.training import checkpoint


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _indexed(trained_run: Path, tmp_path: Path) -> Path:
    run = copy_run(trained_run, tmp_path / "run")
    assert invoke("index", run, "-q").exit_code == 0
    return run


def test_a_gallery_index_whose_header_claims_2_31_dimensions_is_not_loaded(trained_run, tmp_path):
    run = _indexed(trained_run, tmp_path)
    index = run / "gallery.faiss"
    raw = bytearray(index.read_bytes())
    raw[4:8] = struct.pack("<I", 2**31)
    index.write_bytes(bytes(raw))
    gallery, why = load_saved_gallery(run, split_source("train"))
    assert gallery is None
    assert f"{index} is damaged: its header claims 1347 vectors of -2147483648 dimensions" in why


def test_a_gallery_whose_ids_point_outside_its_folder_is_not_used(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    write_split_images(trained_run, "train", range(20), tmp_path / "gallery")
    assert invoke("index", run, "--gallery", tmp_path / "gallery", "-q").exit_code == 0
    meta = json.loads((run / "gallery.json").read_text())
    meta["ids"][0] = "/etc/passwd"
    (run / "gallery.json").write_text(json.dumps(meta))
    gallery, why = load_saved_gallery(run, f"folder:{(tmp_path / 'gallery').resolve()}")
    assert gallery is None and "names the item '/etc/passwd', which is not in its gallery" in why


def test_a_gallery_label_out_of_range_is_named(trained_run, tmp_path):
    run = _indexed(trained_run, tmp_path)
    meta = json.loads((run / "gallery.json").read_text())
    meta["labels"][5] = 99
    (run / "gallery.json").write_text(json.dumps(meta))
    gallery, why = load_saved_gallery(run, split_source("train"))
    assert gallery is None and "label 99 is out of range for 10 class names" in why


def test_an_encoder_of_nan_gives_a_null_distance_with_the_reason_in_valid_json(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    weights = checkpoint.load(run / "encoder.pt")["encoder"]
    checkpoint.save(run / "encoder.pt", {"encoder": {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                                                     for k, v in weights.items()}})
    a, b = write_split_images(trained_run, "test", [0, 1], tmp_path / "images", by_class=False)
    result = invoke("compare", run, a, b, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    assert answer["distance"] is None and answer["verdict"] is None and "NaN" in answer["reason"]


def test_markdown_report_shows_html_in_names_as_text(tmp_path):
    row = RunRow(tmp_path / "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", 2, 60.0, 70.0, "cpu",
                 {"knn.precision_at_1": 0.9}, command="toolkit run `x` <b>")
    text = format_markdown([row], ["knn.precision_at_1"])
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "`` toolkit run `x` <b> ``" in text


class _OpensAFile:
    def __reduce__(self):
        import io

        return (io.open, ("/etc/passwd",))


def test_a_refused_pickle_names_the_global_and_never_suggests_loading_it_unsafely(tmp_path):
    torch.save({"encoder": {}, "payload": _OpensAFile()}, tmp_path / "checkpoint.pt")
    with pytest.raises(ToolkitError) as refused:
        checkpoint.load(tmp_path / "checkpoint.pt")
    message = str(refused.value)
    assert "call io.open" in message and "would run code" in message
    assert "weights_only" not in message and "can still be loaded" not in message


@pytest.mark.parametrize("folder, allowed", [("faces", True), ("{data}/faces", True), ("{run}/images", True),
                                             ("../../elsewhere", False), ("/etc", False)])
def test_a_run_recipe_reads_data_only_under_the_data_root_the_run_or_the_current_folder(
        tmp_path, monkeypatch, folder, allowed):
    monkeypatch.setenv("TOOLKIT_DATA", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path / "data")
    run_dir = tmp_path / "run"
    spec = ComponentSpec("dataset", "image_folder", {"folder": folder.format(data=tmp_path / "data", run=run_dir)})
    recipe = SimpleNamespace(dataset=spec)
    if allowed:
        check_data_paths(recipe, run_dir)
    else:
        with pytest.raises(ToolkitError, match="outside the data root"):
            check_data_paths(recipe, run_dir)


def test_a_symbolic_link_in_the_data_root_is_followed_but_one_in_the_run_folder_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "faces").symlink_to(tmp_path / "elsewhere")  # data kept on another disk
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "images").symlink_to("/etc")  # a run folder may come from someone else
    check_data_paths(SimpleNamespace(dataset=ComponentSpec("dataset", "image_folder", {"folder": "faces"})),
                     tmp_path / "run")
    tampered = SimpleNamespace(dataset=ComponentSpec("dataset", "image_folder", {"folder": str(tmp_path / "run" / "images")}))
    with pytest.raises(ToolkitError, match="outside the data root"):
        check_data_paths(tampered, tmp_path / "run")
