"""Distributed data-parallel training: two gloo processes on the CPU train like one process with the same global
batch, and only rank 0 writes; the pieces (world, sharding, resume rule) on their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO
from toolkit.api import ToolkitError
from toolkit.training import checkpoint
from toolkit.api import Batch
from toolkit.training.distributed import ShardedSampler, World, row_range
from toolkit_plugins.samplers import PairSampler

TINY = """
[run]
seed = 0
epochs = 1
threads = 1

[dataset]
name = "digits"

[encoder]
name = "mlp"
in_features = 64
hidden = [32]
embedding_dim = 8

[optimizer]
name = "Adam"
lr = 0.001

[[evaluators]]
name = "knn"
k = [1, 5]
"""

PAIRS = TINY + """
[sampler]
name = "pairs"
batch_size = 64
pairs_per_epoch = 512

[loss]
name = "contrastive"
margin = 1.0
"""

WHOLE_BATCH = TINY + """
[sampler]
name = "class_balanced"
classes_per_batch = 8
images_per_class = 8
batches_per_epoch = 8

[loss]
name = "pml.MultiSimilarityLoss"

[miner]
name = "pml.MultiSimilarityMiner"
epsilon = 0.1
"""

# Two ranks sum two half-batch gradients where one process takes the whole batch's: the same numbers up to float32
# rounding (about 1e-7 relative per step), which 8 Adam steps keep far below this tolerance.
TOLERANCE = 1e-5


def torchrun(recipe: Path, output: Path, cwd: Path, processes: int = 2) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node N -m toolkit run RECIPE -o OUTPUT`` (gloo: no GPU is used)."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
               "-m", "toolkit", "run", str(recipe), "-o", str(output), "-q"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def first_epoch_loss(run_dir: Path) -> float:
    return json.loads((run_dir / "metrics.json").read_text())["epochs"][0]["loss"]


@pytest.mark.slow
@pytest.mark.parametrize("recipe_text", [PAIRS, WHOLE_BATCH], ids=["contrastive-pairs", "pml-multi-similarity-mined"])
def test_two_processes_match_one_process_with_the_same_global_batch(recipe_text, tmp_path):
    from toolkit.training.runner import run

    recipe = tmp_path / "tiny.toml"
    recipe.write_text(recipe_text)
    work = tmp_path / "work"
    work.mkdir()
    result = torchrun(recipe, work / "two", cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in work.iterdir()) == ["two"]  # one run folder, written by rank 0 alone
    assert result.stdout.count("Run folder:") == 1
    one = run(recipe, output=str(tmp_path / "one"), progress=False).run_dir
    assert first_epoch_loss(work / "two") == pytest.approx(first_epoch_loss(one), rel=TOLERANCE)
    assert torch.load(work / "two" / "checkpoint.pt", weights_only=True)["world_size"] == 2


def test_python_dash_m_toolkit_is_the_command_line():
    result = subprocess.run([sys.executable, "-m", "toolkit", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "toolkit" in result.stdout


def test_a_run_without_torchrun_is_a_world_of_one():
    assert World.from_environment({}) == World(0, 1, 0)
    assert not World.from_environment({}).is_distributed


def test_the_world_comes_from_torchrun_variables():
    world = World.from_environment({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (world.rank, world.size, world.local_rank, world.is_main) == (3, 4, 1, False)


def test_a_rank_outside_the_world_is_a_clear_error():
    with pytest.raises(ToolkitError, match="RANK=4 and WORLD_SIZE=4"):
        World.from_environment({"RANK": "4", "WORLD_SIZE": "4", "LOCAL_RANK": "0"})


def test_ranks_take_disjoint_contiguous_slices_that_make_the_global_batch():
    labels = torch.arange(90) % 10
    sampler = PairSampler(batch_size=30)
    whole = sampler.epoch(labels, torch.Generator().manual_seed(5))
    parts = [ShardedSampler(sampler, World(r, 3)).epoch(labels, torch.Generator().manual_seed(5)) for r in range(3)]
    for step, batch in enumerate(whole):
        assert torch.equal(torch.cat([p[step].indices for p in parts]), batch.indices)
        assert torch.equal(torch.cat([p[step].same for p in parts]), batch.same)


def test_a_batch_smaller_than_the_world_is_left_out_on_every_rank():
    class Fixed:
        kind, batch_size = "labels", 4

        def epoch(self, labels, generator):
            return [Batch("labels", torch.arange(4)[:, None], torch.zeros(4, 1)), Batch("labels", torch.tensor([[4]]), torch.zeros(1, 1))]

    assert [len(ShardedSampler(Fixed(), World(r, 2)).epoch(None, None)) for r in range(2)] == [1, 1]


def test_a_batch_that_does_not_divide_among_the_processes_leaves_out_its_last_rows():
    labels = torch.arange(100) % 10
    sampler = PairSampler(batch_size=64)  # 64 + 36 pairs: the 36 shared by 5 processes leave out 1
    parts = [ShardedSampler(sampler, World(r, 5)).epoch(labels, torch.Generator().manual_seed(5)) for r in range(5)]
    assert [[len(b) for b in p] for p in parts] == [[12, 7]] * 5


def test_row_ranges_cover_every_row_once_with_sizes_within_one():
    ranges = [row_range(10, World(r, 4)) for r in range(4)]
    assert ranges == [(0, 3), (3, 6), (6, 8), (8, 10)]


def test_resuming_with_another_number_of_processes_names_the_checkpoint_and_both_sizes(tmp_path):
    checkpoint.save(tmp_path / "checkpoint.pt", {"encoder": {}, "epoch": 1, "recipe_fingerprint": "f", "world_size": 2})
    with pytest.raises(ToolkitError) as error:
        checkpoint.load_for_resume(tmp_path, "f", tmp_path / "recipe.toml", world_size=1)
    message = str(error.value)
    assert "checkpoint.pt" in message and "world_size is 2" in message and "this run has 1" in message
    assert "torchrun --nproc_per_node 2" in message


@pytest.mark.slow
def test_two_processes_evaluate_the_best_epochs_weights_on_every_rank(tmp_path):
    from toolkit.training.runner import run

    recipe = tmp_path / "tiny.toml"
    chosen = PAIRS.replace("epochs = 1", 'epochs = 3\nmonitor = "knn.precision_at_1"\nmonitor_mode = "min"\nfinal = "best"')
    recipe.write_text(chosen.replace('name = "digits"', 'name = "digits"\nvalidation = 0.1'))
    work = tmp_path / "work"
    work.mkdir()
    result = torchrun(recipe, work / "two", cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    two = json.loads((work / "two" / "metrics.json").read_text())
    one = run(recipe, output=str(tmp_path / "one"), progress=False).metrics
    assert two["validation"]["best_epoch"] == one["validation"]["best_epoch"] < 3  # best is not last
    assert two["evaluation"]["knn"] == pytest.approx(one["evaluation"]["knn"], abs=1e-6)
