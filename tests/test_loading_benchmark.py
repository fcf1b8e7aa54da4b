"""benchmarks/make_image_folder.py writes Fashion-MNIST as class folders of JPEG files; benchmarks/loading.py runs."""

from __future__ import annotations

import importlib.util
import shutil
import sys

import pytest

from tests.conftest import REPO


def benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_image_folder_writes_upscaled_jpegs_in_class_name_folders(tiny_mnist, tmp_path, monkeypatch):
    from PIL import Image

    shutil.copytree(tiny_mnist / "MNIST", tiny_mnist / "FashionMNIST")  # the same IDX layout
    monkeypatch.setattr(sys, "argv", ["make_image_folder.py", str(tmp_path / "folder"), "--data-dir", str(tiny_mnist),
                                      "--limit", "3", "--size", "40"])
    benchmark("make_image_folder").main()
    classes = sorted(p.name for p in (tmp_path / "folder").iterdir())
    assert classes[:2] == ["0_t-shirt_top", "1_trouser"] and len(classes) == 10
    files = sorted((tmp_path / "folder" / "9_ankle_boot").iterdir())
    assert len(files) == 3 and files[0].suffix == ".jpg"
    with Image.open(files[0]) as image:
        assert image.size == (40, 40) and image.mode == "L"


@pytest.mark.slow
def test_the_loading_benchmark_compares_cache_stream_and_image_folder(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["loading.py", "loaders", "--smoke"])
    benchmark("loading").main()
    lines = capsys.readouterr().out.splitlines()
    speeds = {line.split()[0]: float(line.split()[1]) for line in lines if "x ImageFolder" in line}
    assert set(speeds) == {"cache", "stream", "ImageFolder"} and min(speeds.values()) > 0
