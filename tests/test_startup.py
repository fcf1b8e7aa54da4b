"""What start-up leaves out: torch before a recipe file is found and parsed; torch._dynamo, scikit-learn, scipy
and matplotlib for `toolkit validate`. (benchmarks/startup.py measures the seconds.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


SLOW_MODULES = ["torch._dynamo", "sklearn", "scipy.stats._stats_py", "scipy.special._ufuncs", "matplotlib.pyplot",
                "toolkit.training.runner"]
PROBED = [*SLOW_MODULES, "torch", "torchvision", "PIL"]


def _imported_after(args: list[str], cwd) -> tuple[subprocess.CompletedProcess, dict[str, bool]]:
    probe = ("import sys, json\nfrom toolkit.cli.main import main\n"
             f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
             f"print(json.dumps({{m: m in sys.modules for m in {PROBED!r}}}), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=cwd)
    return done, json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("text", [None, "[run\nepochs = 2\n"], ids=["missing file", "malformed TOML"])
def test_a_bad_recipe_file_is_reported_before_torch_is_imported(tmp_path, text):
    recipe = tmp_path / "recipe.toml"
    if text is not None:
        recipe.write_text(text)
    done, imported = _imported_after(["validate", str(recipe)], tmp_path)
    assert ("does not exist" if text is None else "not valid TOML") in done.stderr
    assert imported["torch"] is False


@pytest.mark.slow
def test_validate_imports_no_slow_module_it_does_not_need(tiny_mnist, write_recipe, tmp_path):
    recipe = write_recipe(f"""
        [dataset]
        name = "mnist"
        data_dir = "{tiny_mnist}"
        [sampler]
        name = "pairs"
        batch_size = 8
        [encoder]
        name = "small_cnn"
        [loss]
        name = "contrastive"
        [optimizer]
        name = "Adam"
        lr = 0.001
        [scheduler]
        name = "CosineAnnealingLR"
        T_max = 5
        [[evaluators]]
        name = "knn"
        [[evaluators]]
        name = "kmeans"
    """)
    done, imported = _imported_after(["validate", str(recipe)], tmp_path)
    assert "OK" in done.stdout, done.stderr
    assert [m for m in SLOW_MODULES if imported[m]] == []


def test_a_negative_learning_rate_is_still_caught_by_validate(quick_recipe):
    from click.testing import CliRunner

    from toolkit.cli.main import main

    result = CliRunner().invoke(main, ["validate", str(quick_recipe), "--set", "optimizer.lr=-0.1"])
    assert result.exit_code == 2 and "Invalid learning rate: -0.1" in result.output


def test_validate_of_the_digits_recipe_imports_neither_scikit_learn_nor_an_image_library(quick_recipe, tmp_path):
    done, imported = _imported_after(["validate", str(quick_recipe)], tmp_path)
    assert "OK" in done.stdout, done.stderr
    assert [m for m in ("sklearn", "torchvision", "PIL") if imported[m]] == []


def test_validate_of_an_image_folder_decodes_one_image_per_split_and_prepares_no_cache(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tests.conftest import pairs_recipe, write_faces
    from toolkit.cli.main import main
    from toolkit.imagedata import images

    write_faces(tmp_path / "faces", 6, 5)
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(pairs_recipe(f'name = "image_folder"\nfolder = "{tmp_path / "faces"}"\ntrain_classes = 3\n'
                                   f'cache_dir = "{tmp_path / "prepared"}"', 28 * 24))
    real, opened = images.open_image, []

    def counting(path, **options):
        opened.append(path)
        return real(path, **options)

    monkeypatch.setattr(images, "open_image", counting)
    result = CliRunner().invoke(main, ["validate", str(recipe)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "prepared").exists()
    assert len(set(opened)) <= 4  # of 30: the first image of each split, and the two the encoder is tried on


def test_validate_of_an_image_folder_still_refuses_an_encoder_that_does_not_fit_its_images(tmp_path):
    from click.testing import CliRunner

    from tests.conftest import pairs_recipe, write_faces
    from toolkit.cli.main import main

    write_faces(tmp_path / "faces", 6, 5)
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(pairs_recipe(f'name = "image_folder"\nfolder = "{tmp_path / "faces"}"\ntrain_classes = 3', 64))
    result = CliRunner().invoke(main, ["validate", str(recipe)])
    assert result.exit_code == 2 and "cannot take the training images" in result.output and "(1, 24, 28)" in result.output


@pytest.mark.slow
def test_the_startup_benchmark_prints_every_command_beside_the_floor(capsys):
    import importlib.util

    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location("startup", REPO / "benchmarks" / "startup.py")
    startup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(startup)
    startup.main(["--smoke"])
    rows = [line.split("|")[1].strip() for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][2:]
    assert rows == ['floor: python -c "import torch"', "validate quickstart.toml", "compare (two images)",
                    "search (saved index, k=5)", "validate: missing recipe file", "validate: malformed TOML"]


def test_validate_checks_the_recipe_with_the_collector_paused_and_starts_it_again_after(quick_recipe, monkeypatch):
    import gc

    from click.testing import CliRunner

    from toolkit.cli import main as cli

    real, collecting = cli._check_recipe, []

    def check(*args):
        collecting.append(gc.isenabled())
        real(*args)

    monkeypatch.setattr(cli, "_check_recipe", check)
    result = CliRunner().invoke(cli.main, ["validate", str(quick_recipe)])
    assert result.exit_code == 0, result.output
    assert collecting == [False] and gc.isenabled()


def test_a_command_that_fails_starts_the_collector_again(tmp_path):
    import gc

    from click.testing import CliRunner

    from toolkit.cli.main import main

    result = CliRunner().invoke(main, ["compare", str(tmp_path / "no-run"), "a.png", "b.png"])
    assert result.exit_code == 2 and "no run folder" in result.output.lower() and gc.isenabled()


def test_the_toolkit_program_freezes_its_objects_when_a_command_returns_instead_of_collecting_them(quick_recipe):
    probe = ("import atexit, gc, sys\n"
             "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, file=sys.stderr))\n"
             f"sys.argv = ['toolkit', 'validate', {str(quick_recipe)!r}]\n"
             "from toolkit.cli.main import program\nprogram()\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert "OK" in done.stdout and "frozen True" in done.stderr, done.stderr


def test_a_command_invoked_inside_a_process_that_goes_on_freezes_nothing(quick_recipe):
    import gc

    from click.testing import CliRunner

    from toolkit.cli.main import main

    frozen_before = gc.get_freeze_count()
    result = CliRunner().invoke(main, ["validate", str(quick_recipe)])
    assert result.exit_code == 0 and gc.get_freeze_count() == frozen_before
