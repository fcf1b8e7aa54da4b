"""Start-up of the commands a person types most, side by side with the floor: ``python -c "import torch"``.

Targets: ``toolkit validate`` of every shipped recipe, and ``compare`` / ``search`` of a run with a saved index,
each within 1.5x of the floor; a missing recipe file and malformed TOML reported in under 0.5 s (before torch is
imported). Every command is run ``--repeats`` times in turn (so a busy moment hits all of them alike) and the
median is kept. The run that compare and search use is a one-epoch quick-start run trained first, in a scratch folder;
without ``--smoke`` they are also timed with a one-epoch run of ``faces_resnet.toml`` (a torchvision ResNet-18).

    TOOLKIT_DATA=../shared/data .venv/bin/python benchmarks/startup.py             # about 2-5 minutes
    .venv/bin/python benchmarks/startup.py --smoke                                  # the quick-start recipe only
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FLOOR_RATIO = 1.5
EARLY_ERROR_SECONDS = 0.5


def toolkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "toolkit", *args]


def prepare(scratch: Path, backbone: bool) -> dict[str, Path]:
    """A trained one-epoch quick-start run with a saved index (and, with ``backbone``, a ResNet-18 run), two query
    images, and two broken recipes."""
    runs = {"run": "quickstart.toml", **({"resnet_run": "faces_resnet.toml"} if backbone else {})}
    for name, recipe in runs.items():
        subprocess.run(toolkit("run", str(REPO / "recipes" / recipe), "--set", "run.epochs=1", "-o", str(scratch / name),
                               "-q"), check=True, capture_output=True)
        subprocess.run(toolkit("index", str(scratch / name), "-q"), check=True, capture_output=True)
    from PIL import Image
    import numpy as np

    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    Image.fromarray(pixels).save(scratch / "a.png")
    Image.fromarray(pixels[::-1].copy()).save(scratch / "b.png")
    (scratch / "broken.toml").write_text("[run\nepochs = 2\n")
    import torch
    import torchvision

    weights = scratch / "resnet18.pth"  # recipes that download pretrained weights are checked as a user offline runs them
    torch.save(torchvision.models.resnet18().state_dict(), weights)
    return {**{name: scratch / name for name in runs}, "weights": weights, "a": scratch / "a.png", "b": scratch / "b.png", "broken": scratch / "broken.toml",
            "missing": scratch / "missing.toml"}


def commands(files: dict[str, Path], recipes: list[Path]) -> dict[str, list[str]]:
    found = {'floor: python -c "import torch"': [sys.executable, "-c", "import torch"]}
    found.update({f"validate {r.name}": toolkit("validate", str(r), *offline(r, files["weights"])) for r in recipes})
    found["compare (two images)"] = toolkit("compare", str(files["run"]), str(files["a"]), str(files["b"]))
    found["search (saved index, k=5)"] = toolkit("search", str(files["run"]), str(files["a"]), "-q",
                                                 "-o", str(files["run"].parent / "grid.png"))
    if "resnet_run" in files:
        found["compare (ResNet-18 run)"] = toolkit("compare", str(files["resnet_run"]), str(files["a"]), str(files["b"]))
        found["search (ResNet-18 run, saved index)"] = toolkit("search", str(files["resnet_run"]), str(files["a"]), "-q",
                                                               "-o", str(files["run"].parent / "grid.png"))
    found["validate: missing recipe file"] = toolkit("validate", str(files["missing"]))
    found["validate: malformed TOML"] = toolkit("validate", str(files["broken"]))
    return found


def offline(recipe: Path, weights: Path) -> list[str]:
    """Overrides that read a recipe's pretrained weights from a local file instead of downloading them."""
    if 'weights = "' not in recipe.read_text():
        return []
    return ["--set", 'encoder.weights=""', "--set", f'encoder.weights_path="{weights}"']


def measure(found: dict[str, list[str]], repeats: int) -> dict[str, float]:
    """The median wall time of each command over ``repeats`` rounds, the commands taking turns within a round."""
    times: dict[str, list[float]] = {name: [] for name in found}
    for _ in range(repeats):
        for name, command in found.items():
            start = time.perf_counter()
            done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO)
            times[name].append(time.perf_counter() - start)
            if (done.returncode != 0) != name.startswith("validate:"):  # only the broken recipes are meant to fail
                raise SystemExit(f"{name}: exit code {done.returncode} (set TOOLKIT_DATA for the shipped recipes?)\n"
                                 f"{done.stderr}")
    return {name: statistics.median(values) for name, values in times.items()}


def table(medians: dict[str, float]) -> str:
    floor = next(iter(medians.values()))
    lines = ["| command | median s | vs floor | target | met |", "| --- | --- | --- | --- | --- |"]
    for i, (name, seconds) in enumerate(medians.items()):
        if i == 0:
            lines.append(f"| {name} | {seconds:.2f} | 1.00x | - | - |")
        elif name.startswith("validate:"):
            lines.append(f"| {name} | {seconds:.2f} | {seconds / floor:.2f}x | < {EARLY_ERROR_SECONDS} s | "
                         f"{'yes' if seconds < EARLY_ERROR_SECONDS else 'NO'} |")
        else:
            lines.append(f"| {name} | {seconds:.2f} | {seconds / floor:.2f}x | <= {FLOOR_RATIO}x | "
                         f"{'yes' if seconds <= FLOOR_RATIO * floor else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds of every command (the median is kept)")
    parser.add_argument("--smoke", action="store_true", help="only the quick-start recipe, one round")
    args = parser.parse_args(argv)
    shipped = sorted((REPO / "recipes").glob("*.toml"))
    recipes = [REPO / "recipes" / "quickstart.toml"] if args.smoke else shipped
    with tempfile.TemporaryDirectory(prefix="startup-") as scratch:
        files = prepare(Path(scratch), backbone=not args.smoke)
        medians = measure(commands(files, recipes), 1 if args.smoke else args.repeats)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} logical cores, {time.strftime('%Y-%m-%d %H:%M')}")
    print(table(medians))


if __name__ == "__main__":
    main()
