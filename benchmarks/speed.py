"""Speed benchmark of the Fashion-MNIST Siamese main job: every target as a measured figure and a ratio.

    TOOLKIT_DATA=../shared/data .venv/bin/python benchmarks/speed.py [--pairs 12800] [--threads 2]
    .venv/bin/python benchmarks/speed.py --smoke      # seconds: synthetic 28x28 images, checks the script runs
    TOOLKIT_DATA=../shared/data .venv/bin/python benchmarks/speed.py --device cuda   # on a GPU, data kept there
    TOOLKIT_DATA=../shared/data .venv/bin/python benchmarks/speed.py --accuracy 10 --accuracy-only --seeds 3,4 --threads 1

Training figures are timed on ``--pairs`` pairs (a fraction of the 60,000-pair epoch) and extrapolated to a
full epoch; the table says so. ``ArticlePairDataset`` and ``article_epoch`` are the baseline: a faithful
re-implementation of the Fashion-MNIST Siamese article's loop, not toolkit code.
"""

from __future__ import annotations

import argparse
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from toolkit.training.allocator import keep_freed_memory
from toolkit.training.members import joint_members
from toolkit.recipes.recipe import load_recipe
from toolkit.training.runner import training_precision, use_channels_last, use_threads

REPO = Path(__file__).resolve().parent.parent
RECIPE = REPO / "recipes" / "fashion_siamese.toml"
EPOCH_PAIRS = 60_000  # the runner's epoch: one pair per training image
BATCH = 128
MARGIN = 2.0
GIB = 1024 ** 3


@dataclass
class Row:
    figure: str
    measured: str
    reference: str
    ratio: float | None
    holds: bool | None
    note: str = ""


# ---------------------------------------------------------------- baseline: the article's loop


class ArticlePairDataset(torch.utils.data.Dataset):
    """The article's per-item pair Dataset (baseline only), over torchvision's ``FashionMNIST`` with
    ``transforms.ToTensor()`` as the article loads it.

    Item ``i``: image ``i`` read through the torchvision dataset (``Image.fromarray`` then ``ToTensor``, a
    ``1×28×28`` float tensor in [0, 1]); a coin flip for same or different class; a scan of all 60,000 labels for
    the candidates; a random candidate read the same way; the label as a float tensor.
    """

    def __init__(self, images):
        self.images = images
        self.labels = images.targets.numpy()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        first, label = self.images[index]
        same = random.randint(0, 1)
        candidates = np.where(self.labels == label)[0] if same else np.where(self.labels != label)[0]
        second, _ = self.images[int(random.choice(candidates))]
        return first, second, torch.tensor(same, dtype=torch.float32)


def article_images(data_root: Path):
    """The article's training images: torchvision's FashionMNIST (read from ``data_root``) with ToTensor."""
    import torchvision

    return torchvision.datasets.FashionMNIST(str(data_root), train=True, download=False,
                                             transform=torchvision.transforms.ToTensor())


def contrastive(a: torch.Tensor, b: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """The article's contrastive loss, label 1 = same class, margin 2."""
    distance = F.pairwise_distance(a, b)
    return (same * distance.pow(2) + (1 - same) * torch.clamp(MARGIN - distance, min=0).pow(2)).mean()


def new_model_and_optimizer(seed: int = 0):
    from toolkit_plugins.encoders.small_cnn import SmallCNN

    torch.manual_seed(seed)
    model = SmallCNN(embedding_dim=8)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def article_epoch(images, pairs: int, device: torch.device) -> float:
    """Seconds for ``pairs`` pairs of the article's loop (see :func:`article_training`)."""
    return article_training(images, pairs, device=device)[0]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def article_training(images, pairs: int, epochs: int = 1, seed: int = 0,
                     device: torch.device = torch.device("cpu")) -> tuple[float, torch.nn.Module]:
    """Seconds for ``epochs`` epochs of ``pairs`` pairs of the article's loop, and the model it trained: DataLoader
    (default collate, no workers) over ArticlePairDataset, batch 128, the same SmallCNN, Adam 1e-3, contrastive
    loss with margin 2. On a GPU the model lives there and each batch is moved there, as the article does."""
    random.seed(seed)
    model, optimizer = new_model_and_optimizer(seed)
    model.to(device)
    loader = torch.utils.data.DataLoader(ArticlePairDataset(images), batch_size=BATCH, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    steps = -(-pairs // BATCH)
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        for step, (first, second, same) in enumerate(loader):
            if step == steps:
                break
            first, second, same = first.to(device), second.to(device), same.to(device)
            loss = contrastive(model(first), model(second), same)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    synchronize(device)
    return time.perf_counter() - start, model


# ---------------------------------------------------------------- the bare compute


def tight_loop(images: torch.Tensor, labels: torch.Tensor, pairs: int, *, channels_last: bool = False,
               joint: bool = False, precision: str = "float32",
               device: torch.device = torch.device("cpu")) -> tuple[float, torch.nn.Module]:
    """Seconds of forward+backward+Adam over pre-built float batches of 128 pairs (no sampling, no logging), in the
    given execution mode: channels-last weights and batches, both halves of a batch in one forward pass, and the
    forward pass under bfloat16 autocast (``precision="bfloat16"``, the loss in float32 as in the runner). The
    batches are built on ``device`` before the clock starts."""
    model, optimizer = new_model_and_optimizer()
    model.to(device)
    images, labels = images.to(device), labels.to(device)
    if channels_last:
        use_channels_last(model)
    g = torch.Generator().manual_seed(0)
    first = torch.randint(len(labels), (pairs,), generator=g).to(device)
    second = torch.randint(len(labels), (pairs,), generator=g).to(device)
    batches = [(images[first[s:s + BATCH]].float().div_(255), images[second[s:s + BATCH]].float().div_(255),
                (labels[first[s:s + BATCH]] == labels[second[s:s + BATCH]]).float())
               for s in range(0, pairs, BATCH)]
    if joint:
        batches = [(torch.cat([a, b]), None, same) for a, b, same in batches]
    model.train()
    start = time.perf_counter()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")
    for a, b, same in batches:
        with autocast:
            if joint:
                with joint_members(2):  # as the runner's joint pass: BatchNorm statistics per half
                    embedded = model(a).chunk(2)
            else:
                embedded = model(a), model(b)
        loss = contrastive(*(e.float() for e in embedded), same)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize(device)
    return time.perf_counter() - start, model


# ---------------------------------------------------------------- the toolkit


def runner_epoch(data_root: Path, pairs: int, threads: int, out: Path, device: torch.device) -> dict:
    """The runner's first epoch record on ``pairs`` pairs of the recipe (evaluators off: only training is timed)."""
    from toolkit.training.runner import run

    result = run(RECIPE, overrides=("run.epochs=1", f"run.threads={threads}", f"sampler.pairs_per_epoch={pairs}",
                                    f"dataset.data_dir={str(data_root)!r}", "evaluators=[]",
                                    f"run.device={device.type!r}"),
                 output=str(out / "runner"), overwrite=True, progress=False)
    return result.metrics["epochs"][0]


def accuracy_comparison(data_root: Path, train, test, threads: int, epochs: int, seed: int, out: Path,
                        device: torch.device) -> dict:
    """Test precision@1 (knn evaluator, training set as gallery) after ``epochs`` full epochs of the article's loop
    and of ``toolkit run`` on the recipe, with their training seconds."""
    from toolkit.evaluation.evaluate import embed_images
    from toolkit.training.runner import run
    from toolkit_plugins.evaluators.knn import retrieval_metrics

    seconds, model = article_training(article_images(data_root), EPOCH_PAIRS, epochs, seed, device)
    article = retrieval_metrics(embed_images(model, test, device).numpy(), test.labels.numpy(),
                                embed_images(model, train, device).numpy(), train.labels.numpy(), ks=[1])
    result = run(RECIPE, overrides=(f"run.epochs={epochs}", f"run.seed={seed}", f"run.threads={threads}",
                                    f"dataset.data_dir={str(data_root)!r}", 'evaluators=[{name="knn", k=[1]}]',
                                    f"run.device={device.type!r}"),
                 output=str(out / "accuracy"), overwrite=True, progress=False)
    return {"article_p1": article["precision_at_1"], "article_seconds": seconds,
            "runner_p1": result.metrics["evaluation"]["knn"]["precision_at_1"],
            "runner_seconds": result.metrics["train_seconds"], "epochs": epochs, "seed": seed}


def evaluation(model: torch.nn.Module, train, test, device: torch.device) -> dict[str, float]:
    """Seconds to embed both splits with toolkit.evaluation.evaluate.embed_images, and of the exact k-NN searches."""
    from sklearn.neighbors import NearestNeighbors
    from toolkit.evaluation.evaluate import embed_images
    from toolkit.model.faiss_index import build_index
    from toolkit_plugins.evaluators.knn import retrieval_metrics

    start = time.perf_counter()
    gallery, queries = embed_images(model, train, device).numpy(), embed_images(model, test, device).numpy()
    embed = time.perf_counter() - start
    start = time.perf_counter()
    with torch.inference_mode():
        embed_images(model, train, device), embed_images(model, test, device)
    embed_inference = time.perf_counter() - start

    gallery, queries = np.ascontiguousarray(gallery, np.float32), np.ascontiguousarray(queries, np.float32)
    start = time.perf_counter()
    build_index(gallery).search(queries, 10)  # exact (IndexFlatL2), as the knn evaluator builds it
    search = time.perf_counter() - start
    start = time.perf_counter()
    NearestNeighbors(n_neighbors=10, algorithm="brute").fit(gallery).kneighbors(queries)
    sklearn = time.perf_counter() - start
    start = time.perf_counter()
    retrieval_metrics(queries, test.labels.numpy(), gallery, train.labels.numpy(), ks=[1, 5, 10])
    knn_evaluator = time.perf_counter() - start
    return {"embed": embed, "embed_inference": embed_inference, "search": search, "sklearn": sklearn,
            "knn_evaluator": knn_evaluator, "images": len(train) + len(test), "queries": len(test), "gallery": len(train)}


def toolkit_command() -> list[str]:
    script = Path(sys.executable).parent / "toolkit"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "toolkit"]


def peak_memory(data_root: Path, pairs: int | None, threads: int, out: Path, device: torch.device) -> tuple[float, float]:
    """Peak resident memory (bytes) and wall seconds of a child ``toolkit run`` of the recipe, one epoch."""
    sets = ["run.epochs=1", f"run.threads={threads}", f"dataset.data_dir={str(data_root)!r}",
            f"run.device={device.type!r}"]
    if pairs:
        sets.append(f"sampler.pairs_per_epoch={pairs}")
    command = [*toolkit_command(), "run", str(RECIPE), *[a for s in sets for a in ("--set", s)],
               "-o", str(out / "memory"), "--overwrite"]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{child.stderr.read().decode()}")
    return usage.ru_maxrss * 1024, seconds


def startup(args: list[str], repeats: int, cache: Path) -> float:
    """Best wall time of ``toolkit ARGS`` as a subprocess, with ``cache`` as its cache folder."""
    best = float("inf")
    env = {**os.environ, "TOOLKIT_CACHE_DIR": str(cache)}
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([*toolkit_command(), *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        best = min(best, time.perf_counter() - start)
    return best


# ---------------------------------------------------------------- data


def write_synthetic_fashion(root: Path, train: int, test: int) -> None:
    """Random 28x28 images and labels in the FashionMNIST/raw IDX layout (for --smoke)."""
    folder = root / "FashionMNIST" / "raw"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes())
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + labels.tobytes())


def load_fashion(data_root: Path):
    from toolkit_plugins.datasets.mnist import fashion_mnist

    dataset = fashion_mnist(data_dir=str(data_root), normalize=False)
    return dataset.split("train"), dataset.split("test")


# ---------------------------------------------------------------- table


def accuracy_row(results: list[dict]) -> Row:
    """Row 1b: mean test precision@1 of the runner and of the article's loop over the seeds, and each seed's
    difference (runner minus article, in points)."""
    runner = float(np.mean([r["runner_p1"] for r in results]))
    article = float(np.mean([r["article_p1"] for r in results]))
    differences = ", ".join(f"{r['seed']}: {100 * (r['runner_p1'] - r['article_p1']):+.2f}" for r in results)
    seeds = f"{len(results)} seed{'s' if len(results) > 1 else ''}"
    return Row(f"1b. test precision@1 after {results[0]['epochs']} epochs ({seeds}, mean)", f"{runner:.4f}",
               f"article's loop {article:.4f}; target: equal or better", None, runner >= article,
               f"runner minus article by seed, points: {differences}; training of one seed: runner "
               f"{results[0]['runner_seconds']:.0f} s, article's loop {results[0]['article_seconds']:.0f} s")


def _fmt(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.2f} {unit}"


def print_table(rows: list[Row]) -> None:
    headers = ("figure", "measured", "reference / target", "ratio", "holds")
    cells = [(r.figure, r.measured, r.reference, "" if r.ratio is None else f"{r.ratio:.2f}x",
              "" if r.holds is None else ("yes" if r.holds else "NO")) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = lambda c: "| " + " | ".join(x.ljust(w) for x, w in zip(c, widths)) + " |"  # noqa: E731
    print(line(headers))
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for c in cells:
        print(line(c))
    for r in rows:
        if r.note:
            print(f"- {r.figure}: {r.note}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--data-root", type=Path, default=os.environ.get("TOOLKIT_DATA"),
                        help="folder holding FashionMNIST/raw (default: $TOOLKIT_DATA)")
    parser.add_argument("--pairs", type=int, default=12_800,
                        help="pairs timed per training figure, extrapolated to the 60,000-pair epoch (default 12,800)")
    parser.add_argument("--memory-pairs", type=int, default=None,
                        help="pairs of the memory run's epoch (default: the full 60,000)")
    parser.add_argument("--threads", type=int, default=2, help="torch and faiss threads (default 2)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="where all three training loops and the embedding run; on cuda the runner and the tight "
                             "loop keep the images on the GPU, the article's loop moves each batch there (default cpu)")
    parser.add_argument("--repeats", type=int, default=3, help="start-up timings, best of (default 3)")
    parser.add_argument("--accuracy", type=int, metavar="EPOCHS", default=0,
                        help="also train the article's loop and the runner for EPOCHS full epochs each and compare "
                             "their test precision@1 (10 epochs: about 8 minutes on 2 idle cores)")
    parser.add_argument("--seeds", type=lambda text: [int(x) for x in text.split(",")], default=[0], metavar="S[,S...]",
                        help="seeds of --accuracy: both trainings once per seed, the row compares the means (default 0)")
    parser.add_argument("--accuracy-only", action="store_true",
                        help="only row 1b (with --accuracy): for running seeds in separate processes side by side")
    parser.add_argument("--smoke", action="store_true",
                        help="synthetic 600+100 images, 256 pairs, no memory or start-up rows: checks the script runs")
    args = parser.parse_args(argv)
    use_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: this machine has no usable CUDA GPU")

    with tempfile.TemporaryDirectory(prefix="toolkit-speed-") as tmp:
        out = Path(tmp)
        if args.smoke:
            args.data_root = out / "data"
            write_synthetic_fashion(args.data_root, 600, 100)
            args.pairs, args.memory_pairs = 256, 256
        if args.data_root is None:
            parser.error("no data: pass --data-root or set TOOLKIT_DATA (a folder with FashionMNIST/raw)")
        train, test = load_fashion(args.data_root)
        pairs = min(args.pairs, len(train))
        scale = EPOCH_PAIRS / pairs
        timed = f"timed on {pairs:,} pairs ({pairs * 2:,} images), extrapolated to the {EPOCH_PAIRS:,}-pair epoch"
        if args.accuracy_only:
            if not args.accuracy:
                parser.error("--accuracy-only needs --accuracy EPOCHS")
            accuracy = [accuracy_comparison(args.data_root, train, test, args.threads, args.accuracy, seed, out, device)
                        for seed in args.seeds]
            print()
            print_table([accuracy_row(accuracy)])
            return
        where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{os.cpu_count()} CPUs"
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {where}; {timed}", flush=True)

        mode = load_recipe(RECIPE).run
        warm_up = min(256, pairs)  # oneDNN (or CUDA) sets up its kernels once per process
        tight_loop(train.images, train.labels, warm_up, device=device)
        precision = training_precision(mode.precision, device)
        tight_loop(train.images, train.labels, warm_up, channels_last=mode.channels_last, joint=mode.joint_forward,
                   precision=precision, device=device)
        article = article_epoch(article_images(args.data_root), pairs, device)  # before the allocator changes
        print(f"article loop: {article:.2f} s", flush=True)
        keep_freed_memory()  # what the runner does when it starts training: the tight loop runs under the same settings
        tight, model = tight_loop(train.images, train.labels, pairs, channels_last=mode.channels_last,
                                  joint=mode.joint_forward, precision=precision, device=device)
        print(f"tight loop: {tight:.2f} s", flush=True)
        record = runner_epoch(args.data_root, pairs, args.threads, out, device)
        print(f"runner: {record['seconds']:.2f} s", flush=True)
        ev = evaluation(model, train, test, device)
        print(f"evaluation: {ev}", flush=True)
        accuracy = []
        for seed in args.seeds if args.accuracy else []:
            accuracy.append(accuracy_comparison(args.data_root, train, test, args.threads, args.accuracy, seed, out,
                                                device))
            print(f"accuracy: {accuracy[-1]}", flush=True)
        memory = help_s = list_s = None
        if not args.smoke:
            memory, memory_seconds = peak_memory(args.data_root, args.memory_pairs, args.threads, out, device)
            print(f"memory run: {memory / GIB:.2f} GiB in {memory_seconds:.1f} s", flush=True)
            help_s = startup(["--help"], args.repeats, out / "cache")
            list_cold = startup(["list"], 1, out / "cache")  # an empty cache folder: builds the registry, fills it
            list_s = startup(["list"], args.repeats, out / "cache")

    article_ips, runner_ips = 2 * pairs / article, record["images_per_second"]
    eval_total = ev["embed"] + ev["search"]
    memory_pairs = args.memory_pairs or EPOCH_PAIRS
    rows = [
        Row("1. runner images/s vs the article's loop", _fmt(runner_ips, "img/s"),
            f"article {_fmt(article_ips, 'img/s')}; target >= 3x", runner_ips / article_ips, runner_ips >= 3 * article_ips,
            f"{timed}: runner {record['seconds'] * scale:.1f} s/epoch, article {article * scale:.1f} s/epoch"),
        *([accuracy_row(accuracy)] if accuracy else []),
        Row("2. runner epoch vs tight eager loop", f"{record['seconds'] * scale:.1f} s/epoch",
            f"tight {tight * scale:.1f} s/epoch; target <= 1.10x", record["seconds"] / tight,
            record["seconds"] <= 1.10 * tight,
            f"{timed}; both eager, channels_last={mode.channels_last}, joint_forward={mode.joint_forward}, "
            f"precision={precision} (the recipe's {mode.precision!r} here)"),
        Row(f"3. embed {ev['images']:,} + faiss k-NN {ev['queries']:,}x{ev['gallery']:,}", f"{eval_total:.2f} s",
            "target < 3 s", None, eval_total < 3.0,
            f"embed_images {ev['embed']:.2f} s (under torch.inference_mode: {ev['embed_inference']:.2f} s), faiss "
            f"exact index (IndexFlatL2) built and searched at k=10 {ev['search']:.3f} s; the knn evaluator's retrieval_metrics (k 1,5,10 and MAP@R) "
            f"{ev['knn_evaluator']:.2f} s"),
        Row("3b. scikit-learn brute-force k-NN vs faiss", f"{ev['sklearn']:.3f} s", f"faiss {ev['search']:.3f} s",
            ev["sklearn"] / ev["search"], None),
    ]
    if memory is not None:
        rows.append(Row("4. peak RSS of `toolkit run` (1 epoch + evaluation)", f"{memory / GIB:.2f} GiB", "target < 2 GiB",
            memory / (2 * GIB), memory < 2 * GIB,
                        f"{memory_pairs:,} pairs, wall {memory_seconds:.1f} s, the child's ru_maxrss"))
    if help_s is not None:
        rows += [Row("5. `toolkit --help` start-up", f"{help_s:.2f} s", "target < 1 s", help_s, help_s < 1.0,
                     f"best of {args.repeats}"),
                 Row("5. `toolkit list` start-up", f"{list_s:.2f} s", "target < 1 s", list_s, list_s < 1.0,
                     f"best of {args.repeats}, the component cache current; the first call, which builds the "
                     f"registry (torch, every plugin) and fills the cache: {list_cold:.2f} s")]
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
