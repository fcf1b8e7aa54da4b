"""The catalogue of user mistakes: each case sets up one mistake and says what its message must name.

``tests/test_error_catalogue.py`` runs every case through the command line. The same cases generate the
catalogue in ``docs/reliability.md`` (``python -m tests.error_catalogue``), so the page shows the messages
the toolkit really prints and cannot drift from the tests.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import struct
import sys
import tempfile
import zlib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from click.testing import CliRunner

from tests.conftest import QUICK_RECIPE, write_faces, write_idx
from tests.fake_plugins import installed, write_distribution
from toolkit.cli.main import main


_TRAINED: dict[str, Path] = {}


class Workspace:
    """A scratch folder for one case: recipes, data, fake plugins; ``out`` is the run folder the case asks for."""

    def __init__(self, root: Path, stack: ExitStack):
        self.root = root
        self.out = root / "out"
        self.site = root / "site"
        self._stack = stack
        self._plugins_installed = False

    def recipe(self, text: str = QUICK_RECIPE, name: str = "recipe.toml") -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def run(self, *overrides: str, recipe: Path | None = None, extra: tuple[str, ...] = ()) -> list[str]:
        """Arguments of ``toolkit run`` on the quick digits recipe with ``--set`` overrides."""
        recipe = recipe or self.recipe()
        sets = [arg for o in overrides for arg in ("--set", o)]
        return ["run", str(recipe), "-o", str(self.out), "-q", *sets, *extra]

    def mnist(self, train_labels: np.ndarray | None = None, train_images: int = 200) -> Path:
        """A tiny MNIST-layout data root (class c filled with 20·c+10); ``train_labels`` replaces the labels."""
        root = self.root / "data"
        rng = np.random.default_rng(0)
        for prefix, n in (("train", train_images), ("t10k", 100)):
            labels = np.arange(n) % 10
            images = (labels[:, None, None] * 20 + 10 + rng.integers(0, 5, (n, 28, 28))).astype(np.uint8)
            if prefix == "train" and train_labels is not None:
                labels = train_labels
            write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte", images)
            write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte", labels)
        return root

    def mnist_recipe(self, data_root: Path) -> Path:
        text = QUICK_RECIPE.replace('name = "digits"', f'name = "mnist"\ndata_dir = "{data_root}"')
        return self.recipe(text.replace("in_features = 64", "in_features = 784"))

    def faces(self, people: int = 4, images_each: int = 3) -> Path:
        """A folder ``faces/`` of ``people`` class sub-folders ``s1..`` holding 8x8 grey PGM images."""
        return write_faces(self.root / "faces", people, images_each, size=(8, 8))

    def faces_recipe(self, folder: Path) -> Path:
        """The quick recipe on an image folder (8x8 images, so the 64-input MLP still fits)."""
        dataset = f'name = "image_folder"\nfolder = "{folder}"\nsplit_by = "image"\ntest_fraction = 0.34'
        return self.recipe(QUICK_RECIPE.replace('name = "digits"', dataset))

    def plugin(self, distribution: str, source: str) -> str:
        """Install a throw-away plugin distribution (see tests/fake_plugins.py); returns its plugin name."""
        write_distribution(self.site, distribution, source)
        if not self._plugins_installed:
            self._stack.enter_context(installed(self.site))
            self._plugins_installed = True
        else:
            from toolkit.components.registry import reset_default_registry

            reset_default_registry()
        return f"{distribution}.plugin"

    def checkpoint(self, state: object) -> Path:
        """A run folder holding ``checkpoint.pt`` = ``state`` (bytes are written as they are)."""
        self.out.mkdir()
        path = self.out / "checkpoint.pt"
        if isinstance(state, bytes):
            path.write_bytes(state)
        else:
            torch.save(state, path)
        (self.out / "recipe.toml").write_text(QUICK_RECIPE)
        return path

    def trained(self, name: str = "run") -> Path:
        """A copy, in ``root/name``, of a finished one-epoch run of the quick recipe (trained once per process)."""
        if "run" not in _TRAINED:
            from toolkit.training.runner import run

            cache = Path(tempfile.mkdtemp(prefix="catalogue-run-"))
            atexit.register(shutil.rmtree, cache, True)
            (cache / "quick.toml").write_text(QUICK_RECIPE)
            _TRAINED["run"] = run(cache / "quick.toml", overrides=("run.epochs=1",), output=str(cache / "run"),
                                  progress=False).run_dir
        target = self.root / name
        shutil.copytree(_TRAINED["run"], target)
        (target / ".lock").unlink(missing_ok=True)
        return target

    def two_images(self) -> list[str]:
        """Two 8x8 grey PNG images, the size of the quick recipe's digits."""
        from PIL import Image

        paths = []
        for i in (1, 2):
            path = self.root / f"image{i}.png"
            Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8), "L").save(path)
            paths.append(str(path))
        return paths

    def hold_lock(self, folder: Path, pid: int = 4242) -> None:
        """Hold ``folder``'s run lock as a live run would, with ``pid`` recorded as its holder."""
        from toolkit.runfolder.claim import RunFolderLock

        lock = RunFolderLock(folder).acquire()
        self._stack.callback(lock.release)
        lock.path.write_text(f"{pid}\n")

    def patch(self, target: object, name: str, value: object) -> None:
        old = getattr(target, name)
        setattr(target, name, value)
        self._stack.callback(setattr, target, name, old)



def _monitoring(ws: Workspace, monitor: str) -> list[str]:
    """The quick recipe with a validation split, monitoring ``monitor``."""
    return ws.run("dataset.validation=0.2", f'run.monitor="{monitor}"')

@dataclass(frozen=True)
class Case:
    """One mistake. ``setup`` prepares it and returns the CLI arguments; the message must contain every ``expect``
    string (after ``{root}``, ``{out}`` and ``{recipe}`` are filled in) — where it happened and the fix."""

    id: str
    title: str
    setup: Callable[[Workspace], list[str]]
    expect: tuple[str, ...]
    exit_code: int = 2
    note: str = ""


@dataclass
class Outcome:
    exit_code: int
    output: str
    message: str
    exception: BaseException | None


def invoke(args: list[str]) -> Outcome:
    result = CliRunner().invoke(main, args)
    found = re.search(r"Error: (.*)\Z", result.output, flags=re.S)
    return Outcome(result.exit_code, result.output, found.group(1).strip() if found else "", result.exception)


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with a hash of its content (bytecode caches left out)."""
    state = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts:
            continue
        key = str(path.relative_to(root))
        state[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return state


# ---------------------------------------------------------------------------------------------- the cases

def _recipe_not_text(ws: Workspace) -> list[str]:
    path = ws.root / "recipe.toml"
    path.write_bytes(b"[run]\nseed = \xff\n")
    return ws.run(recipe=path)


def _truncated_idx(ws: Workspace) -> list[str]:
    root = ws.mnist()
    path = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    return ws.run(recipe=ws.mnist_recipe(root))


def _wrong_magic(ws: Workspace) -> list[str]:
    root = ws.mnist()
    raw = root / "MNIST" / "raw"
    (raw / "t10k-images-idx3-ubyte").write_bytes((raw / "t10k-labels-idx1-ubyte").read_bytes())
    return ws.run(recipe=ws.mnist_recipe(root))


def _count_mismatch(ws: Workspace) -> list[str]:
    return ws.run(recipe=ws.mnist_recipe(ws.mnist(train_labels=np.arange(150) % 10)))


def _one_class(ws: Workspace) -> list[str]:
    return ws.run(recipe=ws.mnist_recipe(ws.mnist(train_labels=np.zeros(200, dtype=int))))


def _class_of_one(ws: Workspace) -> list[str]:
    labels = np.arange(200) % 9
    labels[7] = 9  # class 9 gets a single image
    return ws.run(recipe=ws.mnist_recipe(ws.mnist(train_labels=labels)))


def _folder_one_class(ws: Workspace) -> list[str]:
    return ws.run(recipe=ws.faces_recipe(ws.faces(people=1)))


def _folder_class_of_one(ws: Workspace) -> list[str]:
    folder = ws.faces()
    for extra in sorted((folder / "s2").iterdir())[1:]:
        extra.unlink()
    return ws.run(recipe=ws.faces_recipe(folder))


def _folder_class_without_images(ws: Workspace) -> list[str]:
    folder = ws.faces()
    (folder / "s5").mkdir()
    (folder / "s5" / "notes.txt").write_text("photos to come\n")
    return ws.run(recipe=ws.faces_recipe(folder))


def _folder_unreadable_image(ws: Workspace) -> list[str]:
    folder = ws.faces()
    (folder / "s1" / "3.pgm").write_bytes(b"P5 not really a picture")
    return ws.run(recipe=ws.faces_recipe(folder))


def _folder_mixed_sizes(ws: Workspace) -> list[str]:
    folder = ws.faces()
    write_faces(folder / "s9", 1, 3, size=(12, 10))
    for image in (folder / "s9" / "s1").iterdir():
        image.rename(folder / "s9" / image.name)
    (folder / "s9" / "s1").rmdir()
    return ws.run(recipe=ws.faces_recipe(folder))


def _table(ws: Workspace, edit: Callable[[list[str]], None] | None = None) -> list[str]:
    """The quick recipe on a table of the 8x8 faces (s1, s2 train; s3, s4 test) after ``edit`` changes its lines."""
    folder = ws.faces()
    lines = ["path,label"] + [f"{p.relative_to(ws.root)},{p.parent.name}" for p in sorted(folder.rglob("*.pgm"))]
    if edit:
        edit(lines)
    table = ws.root / "images.csv"
    table.write_text("\n".join(lines) + "\n")
    dataset = f'name = "image_table"\ntable = "{table}"\ntrain_classes = 2\nchannels = 1'
    return ws.run(recipe=ws.recipe(QUICK_RECIPE.replace('name = "digits"', dataset)))


def _table_missing_file(ws: Workspace) -> list[str]:
    return _table(ws, lambda lines: lines.__setitem__(3, "faces/s1/missing.pgm,s1"))


def _table_empty_label(ws: Workspace) -> list[str]:
    return _table(ws, lambda lines: lines.__setitem__(5, lines[5].split(",")[0] + ","))


def _image_too_large(ws: Workspace) -> list[str]:
    from PIL import Image

    ws.patch(Image, "MAX_IMAGE_PIXELS", 20)  # each 8x8 face has 64 pixels: as a photo over the real limit would
    return ws.run(recipe=ws.faces_recipe(ws.faces()))


def _augment_unknown(ws: Workspace) -> list[str]:
    return ws.run(recipe=ws.recipe(QUICK_RECIPE + '\n[[augment]]\nname = "RandomHorizontalFlp"\n'))


def _normalize_step(ws: Workspace) -> list[str]:
    recipe = ws.faces_recipe(ws.faces())
    recipe.write_text(recipe.read_text() + '\n[[augment]]\nname = "Normalize"\nmean = [0.5]\nstd = [0.2]\n')
    return ws.run(recipe=recipe)


def _mean_per_channel(ws: Workspace) -> list[str]:
    return ws.run("dataset.normalize=true", "dataset.mean=[0.485, 0.456, 0.406]", recipe=ws.faces_recipe(ws.faces()))


def _std_zero(ws: Workspace) -> list[str]:
    return ws.run("dataset.normalize=true", "dataset.std=0", recipe=ws.faces_recipe(ws.faces()))


def _augment_changes_shape(ws: Workspace) -> list[str]:
    return ws.run(recipe=ws.recipe(QUICK_RECIPE + '\n[[augment]]\nname = "RandomResizedCrop"\nsize = [6, 6]\n'))


class _Evil:
    """Unpickling this would call os.system: what a malicious checkpoint does."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _code_in_checkpoint(ws: Workspace) -> list[str]:
    ws.checkpoint({"encoder": {}, "epoch": 1, "payload": _Evil(ws.root / "code-ran")})
    return ws.run(extra=("--resume", str(ws.out)))


def _different_recipe_checkpoint(ws: Workspace) -> list[str]:
    ws.checkpoint({"encoder": {}, "epoch": 1, "recipe_fingerprint": "0" * 16})
    return ws.run(extra=("--resume", str(ws.out)))


def _truncated_checkpoint(ws: Workspace) -> list[str]:
    path = ws.root / "whole.pt"
    torch.save({"encoder": {"w": torch.ones(1000)}, "epoch": 1}, path)
    ws.checkpoint(path.read_bytes()[:2000])
    path.unlink()
    return ws.run(extra=("--resume", str(ws.out)))


def _resume_other_world_size(ws: Workspace) -> list[str]:
    from toolkit.training.checkpoint import recipe_fingerprint
    from toolkit.recipes.recipe import load_recipe

    fingerprint = recipe_fingerprint(load_recipe(ws.recipe()).data)
    ws.checkpoint({"encoder": {}, "epoch": 1, "recipe_fingerprint": fingerprint, "world_size": 2})
    return ws.run(extra=("--resume", str(ws.out)))


def _torchrun_variables_not_numbers(ws: Workspace) -> list[str]:
    from unittest import mock

    ws._stack.enter_context(mock.patch.dict(os.environ, {"WORLD_SIZE": "two", "RANK": "0", "LOCAL_RANK": "0"}))
    return ws.run()


def _cuda_without_gpu(ws: Workspace) -> list[str]:
    ws.patch(torch.cuda, "is_available", lambda: False)
    return ws.run('run.device="cuda"')


def _output_not_writable(ws: Workspace) -> list[str]:
    (ws.root / "blocker").write_text("a file where the run folder's parent should be\n")
    ws.out = ws.root / "blocker" / "run"
    return ws.run()


def _output_holds_a_run(ws: Workspace) -> list[str]:
    ws.out.mkdir()
    (ws.out / "metrics.json").write_text("{}\n")
    return ws.run()


LOSS_PLUGIN = '''
import torch
from toolkit.api import hookimpl
from toolkit.api import Loss


class {cls}(Loss):
    """{doc}"""
    batch_kind = "pairs"

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, batch):
        {body}


@hookimpl
def register_losses(register):
    register("{name}", {cls})
'''


def _plugin_import_error(ws: Workspace) -> list[str]:
    ws.plugin("broken-losses", "import toolkit\nraise ImportError('No module named faiss_gpu_extras')\n")
    return ws.run('loss.name="fancy"')


def _plugin_hook_raises(ws: Workspace) -> list[str]:
    ws.plugin("hooky", '''
        from toolkit.api import hookimpl

        @hookimpl
        def register_losses(register):
            register("fancy", dict)
            raise RuntimeError("could not read my config file")
    ''')
    return ws.run('loss.name="fancy"')


def _plugin_name_clash(ws: Workspace) -> list[str]:
    for dist in ("twin-a", "twin-b"):
        ws.plugin(dist, LOSS_PLUGIN.format(cls="Twin", doc="A twin.", name="twin", body="return batch.embeddings.sum()"))
    return ws.run()


def _plugin_wrong_kind(ws: Workspace) -> list[str]:
    ws.plugin("sloppy", '''
        from toolkit.api import hookimpl

        def lazy_encoder(*, width: int = 8):
            """An encoder factory that forgets to build the module."""
            return {"width": width}

        @hookimpl
        def register_encoders(register):
            register("lazy", lazy_encoder)
    ''')
    return ws.run('encoder.name="lazy"', "encoder.width=8", recipe=ws.recipe(QUICK_RECIPE.replace(
        "in_features = 64\nhidden = [32]\nembedding_dim = 8\n", "")))


def _fancy_loss_plugin(ws: Workspace, distribution: str, *, hook: str = "register_losses", header: str = "") -> list[str]:
    """A plugin registering the loss ``fancy`` through ``hook``, its module starting with ``header``."""
    ws.plugin(distribution, f'''
        from toolkit.api import hookimpl
        {header}

        def fancy_loss():
            """Never built."""

        @hookimpl
        def {hook}(register):
            register("fancy", fancy_loss)
    ''')
    return ws.run('loss.name="fancy"')


def _plugin_misspelt_hook(ws: Workspace) -> list[str]:
    return _fancy_loss_plugin(ws, "typo", hook="register_loss")


def _plugin_api_range(ws: Workspace) -> list[str]:
    return _fancy_loss_plugin(ws, "futuristic", header='TOOLKIT_API = ">=2.0,<3"')


def _plugin_constructor_bug(ws: Workspace) -> list[str]:
    ws.plugin("buggy", '''
        from toolkit.api import Loss, hookimpl

        class FancyLoss(Loss):
            """Its constructor has a bug of its own."""

            def __init__(self, *, margin: float = 1.0):
                super().__init__()
                self.margins = sorted(margin)

        @hookimpl
        def register_losses(register):
            register("fancy", FancyLoss)
    ''')
    return ws.run('loss.name="fancy"')


def _nan_loss(ws: Workspace) -> list[str]:
    ws.plugin("nanny", LOSS_PLUGIN.format(cls="NanLoss", doc="Always NaN.", name="always_nan",
                                          body="return batch.embeddings.sum() * float('nan')"))
    return ws.run('loss.name="always_nan"', recipe=ws.recipe(QUICK_RECIPE.replace("margin = 1.0\n", "")))


PML_LOSS = 'name = "pml.MultiSimilarityLoss"'


def _balanced_too_many_classes(ws: Workspace) -> list[str]:
    text = QUICK_RECIPE.replace('name = "pairs"\nbatch_size = 64', 'name = "class_balanced"\nclasses_per_batch = 12')
    return ws.run(recipe=ws.recipe(text.replace('name = "contrastive"\nmargin = 1.0', PML_LOSS)))


def _pml_recipe(ws: Workspace, loss: str) -> Path:
    text = QUICK_RECIPE.replace('name = "pairs"\nbatch_size = 64', 'name = "class_balanced"')
    return ws.recipe(text.replace('name = "contrastive"\nmargin = 1.0', loss))


def _bomb_png(path: Path) -> None:
    """A PNG whose header claims 100000x100000 pixels (its data is a few bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def _image_bomb(ws: Workspace, name: str) -> list[str]:
    folder = ws.faces()
    if name.endswith(".png"):
        _bomb_png(folder / "s1" / name)
    else:
        (folder / "s1" / name).write_bytes(b"P5\n100000 100000\n255\n" + b"\0" * 64)
    return ws.run(recipe=ws.faces_recipe(folder))


def _corrupt_gz_idx(ws: Workspace) -> list[str]:
    import gzip

    root = ws.mnist()
    plain = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    packed = gzip.compress(plain.read_bytes())
    plain.unlink()
    Path(f"{plain}.gz").write_bytes(packed[:40] + bytes(b ^ 0xFF for b in packed[40:400]) + packed[400:])
    return ws.run(recipe=ws.mnist_recipe(root))


def _output_symlink(ws: Workspace) -> list[str]:
    target = ws.trained()
    ws.out.symlink_to(target)
    return ws.run(extra=("--overwrite",))


def _overwrite_foreign_files(ws: Workspace) -> list[str]:
    ws.trained("out")
    (ws.out / "thesis.tex").write_text("months of work\n")
    (ws.out / "photos").mkdir()
    (ws.out / "photos" / "beach.jpg").write_bytes(b"\xff\xd8")
    return ws.run(extra=("--overwrite",))


def _live_run(ws: Workspace, *extra: str) -> list[str]:
    ws.trained("out")
    ws.hold_lock(ws.out)
    return ws.run(extra=extra)


def _resume_unknown_partial(ws: Workspace) -> list[str]:
    ws.trained("out")
    saved = torch.load(ws.out / "checkpoint.pt", weights_only=True)
    torch.save({**saved, "partial": {"epoch": 2, "step": 3, "surprise": 1}}, ws.out / "checkpoint.pt")
    return ws.run(extra=("--resume", str(ws.out)))


class _Eval:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def _builtin_in_checkpoint(ws: Workspace) -> list[str]:
    ws.checkpoint({"encoder": {}, "epoch": 1, "payload": _Eval()})
    return ws.run(extra=("--resume", str(ws.out)))


def _damaged_run_file(ws: Workspace, name: str, content: str, command: str) -> list[str]:
    run_dir = ws.trained()
    (run_dir / name).write_text(content)
    if command == "compare":
        return ["compare", str(run_dir), *ws.two_images()]
    return [command, str(run_dir)]


def _run_recipe_not_utf8(ws: Workspace) -> list[str]:
    run_dir = ws.trained()
    (run_dir / "recipe.toml").write_bytes(b"[run]\nseed = \xff\n")
    return ["compare", str(run_dir), *ws.two_images()]


def _run_recipe_huge_layers(ws: Workspace) -> list[str]:
    run_dir = ws.trained()
    import tomllib

    import tomli_w

    recipe = tomllib.loads((run_dir / "recipe.toml").read_text())
    recipe["encoder"]["hidden"] = [100000, 100000]
    (run_dir / "recipe.toml").write_text(tomli_w.dumps(recipe))
    return ["embed", str(run_dir), "--dataset", "test", "-o", str(ws.root / "vectors.npy")]


def _run_recipe_reads_elsewhere(ws: Workspace) -> list[str]:
    from unittest import mock

    import tomllib

    import tomli_w

    run_dir = ws.trained()
    (ws.root / "data").mkdir()
    ws._stack.enter_context(mock.patch.dict(os.environ, {"TOOLKIT_DATA": str(ws.root / "data")}))
    recipe = tomllib.loads((run_dir / "recipe.toml").read_text())
    recipe["dataset"] = {"name": "image_folder", "folder": "/etc", "split_by": "image"}
    (run_dir / "recipe.toml").write_text(tomli_w.dumps(recipe))
    return ["embed", str(run_dir), "--dataset", "test", "-o", str(ws.root / "vectors.npy")]


TRANSFORM = '{{"channels": 1, "height": {height}, "width": {width}, "mean": 0.3, "std": 0.2}}'


CASES: list[Case] = [
    # The recipe file
    Case("toml-syntax", "TOML syntax error",
         lambda ws: ws.run(recipe=ws.recipe("[run]\nepochs = = 3\n")),
         ("{recipe}", "line 2, column", "Fix the syntax")),
    Case("empty-recipe", "empty recipe file",
         lambda ws: ws.run(recipe=ws.recipe("# nothing here yet\n")),
         ("{recipe}", "empty", "recipes/quickstart.toml")),
    Case("recipe-missing", "recipe file that does not exist",
         lambda ws: ["run", str(ws.root / "recipe.toml"), "-o", str(ws.out)],
         ("{recipe}", "does not exist", "Check the path")),
    Case("recipe-not-text", "recipe that is not UTF-8 text",
         _recipe_not_text, ("{recipe}", "UTF-8")),
    Case("unknown-section", "unknown section",
         lambda ws: ws.run(recipe=ws.recipe(QUICK_RECIPE + "\n[optimiser]\nname = 'SGD'\n")),
         ("{recipe}", "[optimiser]", "Did you mean [optimizer]")),
    Case("section-not-a-table", "section written as a plain value",
         lambda ws: ws.run(recipe=ws.recipe('encoder = "mlp"\n' + QUICK_RECIPE.split("[encoder]")[0]
                                            + "[loss]" + QUICK_RECIPE.split("[loss]")[1])),
         ("{recipe}", "'encoder' must be a table", "[encoder]")),
    Case("missing-name", "component section without a name",
         lambda ws: ws.run(recipe=ws.recipe(QUICK_RECIPE.replace('[encoder]\nname = "mlp"\n', "[encoder]\n"))),
         ("{recipe}", "[encoder] has no 'name' key", 'name = "..."')),
    Case("unknown-run-key", "unknown key in [run]",
         lambda ws: ws.run("run.epoch=3"),
         ("{recipe}", "run.epoch", "Did you mean 'epochs'")),
    Case("unknown-component-key", "unknown key in a component section",
         lambda ws: ws.run("loss.margn=2.0"),
         ("{recipe}", "loss.margn", "Did you mean 'margin'", "toolkit list")),
    Case("unknown-component", "unknown component name",
         lambda ws: ws.run('loss.name="contrastiv"'),
         ("{recipe}", "loss.name", "Did you mean 'contrastive'", "toolkit list losses")),
    Case("unknown-optimizer", "unknown optimizer class",
         lambda ws: ws.run('optimizer.name="Adma"'),
         ("{recipe}", "optimizer.name", "Did you mean", "'Adam'")),
    Case("string-for-number", "string where a number belongs",
         lambda ws: ws.run('loss.margin="big"'),
         ("{recipe}", "loss.margin", "number", "'big'")),
    Case("negative-epochs", "negative number of epochs",
         lambda ws: ws.run("run.epochs=-2"),
         ("{recipe}", "run.epochs", "greater than or equal to 1")),
    Case("margin-not-positive", "margin of zero",
         lambda ws: ws.run("loss.margin=0.0"),
         ("{recipe}", "[loss]", "loss.margin", "greater than 0")),
    Case("batch-size-zero", "batch size 0",
         lambda ws: ws.run("sampler.batch_size=0"),
         ("{recipe}", "[sampler]", "sampler.batch_size", "greater than or equal to 1")),
    Case("lr-wrong-type", "learning rate of the wrong type",
         lambda ws: ws.run('optimizer.lr="fast"'),
         ("{recipe}", "optimizer.lr", "float", "'fast'")),
    Case("lr-negative", "negative learning rate",
         lambda ws: ws.run("optimizer.lr=-1.0"),
         ("{recipe}", "[optimizer] Adam", "learning rate", "-1.0")),
    Case("loss-optimizer-without-parameters", "[loss.optimizer] for a loss with no parameters of its own",
         lambda ws: ws.run('loss.optimizer.name="SGD"', "loss.optimizer.lr=0.5"),
         ("{recipe}", "[loss.optimizer]", "'contrastive' has no parameters of its own", "Remove [loss.optimizer]")),
    Case("encoder-does-not-fit", "encoder built for other images than the dataset's",
         lambda ws: ws.run("encoder.in_features=784"),
         ("{recipe}", "encoder 'mlp'", "(1, 8, 8)", "in_features")),
    Case("evaluator-unknown-split", "evaluator asked for a split the dataset does not have",
         lambda ws: ws.run('evaluators.0.query="validation"'),
         ("{recipe}", "[[evaluators]] 0 ('knn')", "'validation'", "train, test")),
    Case("validation-share-out-of-range", "validation share outside (0, 1)",
         lambda ws: ws.run("dataset.validation=1.5"),
         ("{recipe}", "dataset.validation", "strictly between 0 and 1", "validation = 0.1")),
    Case("validation-class-with-one-image", "validation split with a class of a single image",
         lambda ws: ws.run("dataset.validation=0.2", recipe=ws.mnist_recipe(ws.mnist(np.r_[np.arange(197) % 9, [9, 9, 9]]))),
         ("{recipe}", "validation split", "single image (9)", "Raise dataset.validation")),
    Case("validation-share-too-small", "validation share too small to hold every class",
         lambda ws: ws.run("dataset.validation=0.1", "dataset.limit=60"),
         ("{recipe}", "dataset.validation = 0.1", "6 of the 60 training images", "raise dataset.validation")),
    Case("monitor-unknown-metric", "monitored metric that the evaluator does not produce",
         lambda ws: _monitoring(ws, "knn.precision_at_2"),
         ("{recipe}", "run.monitor = 'knn.precision_at_2'", "knn.precision_at_1", "knn.map_at_r")),
    Case("monitor-unknown-evaluator", "monitored metric of an evaluator the recipe does not have",
         lambda ws: _monitoring(ws, "kmeans.nmi"),
         ("{recipe}", "run.monitor = 'kmeans.nmi'", "evaluator.metric", "(knn)")),
    Case("final-best-without-validation", "final = \"best\" without a validation metric",
         lambda ws: ws.run('run.final="best"'),
         ("{recipe}", 'run.final = "best"', "run.monitor", 'run.final = "last"')),
    Case("monitor-without-validation", "monitored metric without a validation split",
         lambda ws: ws.run('run.monitor="knn.precision_at_1"'),
         ("{recipe}", "run.monitor", "train, test", "validation = 0.1 under [dataset]")),
    Case("device-typo", "device that does not exist",
         lambda ws: ws.run('run.device="gpu"'),
         ("{recipe}", "run.device", "'cuda'")),
    Case("missing-required", "required parameter left out",
         lambda ws: ws.run(recipe=ws.recipe(QUICK_RECIPE + '\n[scheduler]\nname = "StepLR"\n')),
         ("{recipe}", "scheduler.step_size", "required")),
    Case("evaluators-not-a-list", "evaluators written as one table instead of a list",
         lambda ws: ws.run(recipe=ws.recipe(QUICK_RECIPE.split("[[evaluators]]")[0] + '[evaluators]\nname = "knn"\n')),
         ("{recipe}", "'evaluators'", "[[evaluators]]")),
    Case("loss-sampler-mismatch", "loss and sampler of different batch kinds",
         lambda ws: ws.run('sampler.name="triplets"'),
         ("{recipe}", "'contrastive'", "'triplets'", "toolkit list samplers")),
    Case("dataset-limit", "dataset.limit that is not a positive integer",
         lambda ws: ws.run("dataset.limit=0"),
         ("{recipe}", "dataset.limit", "positive integer")),
    Case("seed-negative", "negative seed",
         lambda ws: ws.run("run.seed=-1"),
         ("{recipe}", "run.seed", "greater than or equal to 0")),
    Case("seed-too-large", "seed larger than the random generators take",
         lambda ws: ws.run("run.seed=9223372036854775807"),
         ("{recipe}", "run.seed", "less than or equal to 2147483647")),
    Case("lr-infinite", "learning rate of infinity",
         lambda ws: ws.run("optimizer.lr=inf"),
         ("{recipe}", "optimizer.lr", "got inf")),
    Case("margin-nan", "margin that is not a number",
         lambda ws: ws.run("loss.margin=nan"),
         ("{recipe}", "loss.margin", "finite number", "got nan")),
    Case("recipe-too-large", "recipe file of megabytes",
         lambda ws: ws.run(recipe=ws.recipe(QUICK_RECIPE + "# " + "x" * (1 << 20) + "\n")),
         ("{recipe}", "1,048,576", "not read")),
    Case("bad-override", "--set without a value",
         lambda ws: ws.run("run.epochs"),
         ("--set 'run.epochs'", "KEY=VALUE")),
    # The machine and the run folder
    Case("cuda-without-gpu", "CUDA asked for on a machine without one",
         _cuda_without_gpu, ("{recipe}", "run.device", "no usable CUDA GPU", '"cpu"')),
    Case("output-not-writable", "output folder that cannot be written",
         _output_not_writable, ("{out}", "Cannot write", "--output")),
    Case("output-holds-a-run", "output folder already holding another run",
         _output_holds_a_run, ("{out}", "--overwrite", "--resume", "--output")),
    Case("resume-and-overwrite", "--resume together with --overwrite",
         lambda ws: ws.run(extra=("--resume", str(ws.out), "--overwrite")), ("--resume", "--overwrite", "choose one")),
    Case("resume-without-checkpoint", "--resume on a folder without a checkpoint",
         lambda ws: (ws.out.mkdir(), ws.run(extra=("--resume", str(ws.out))))[1],
         ("{out}", "checkpoint.pt", "Give the folder of a run")),
    Case("resume-other-recipe", "--resume with a checkpoint from a different recipe",
         _different_recipe_checkpoint, ("{out}/checkpoint.pt", "different recipe", "{out}/recipe.toml")),
    Case("corrupt-checkpoint", "corrupt checkpoint file",
         lambda ws: (ws.checkpoint(b"not a checkpoint at all " * 40), ws.run(extra=("--resume", str(ws.out))))[1],
         ("{out}/checkpoint.pt", "damaged", "without --resume")),
    Case("truncated-checkpoint", "checkpoint cut short",
         _truncated_checkpoint, ("{out}/checkpoint.pt", "damaged", "without --resume")),
    Case("output-name-too-long", "output folder name longer than the file system allows",
         lambda ws: (setattr(ws, "out", ws.root / ("r" * 256)), ws.run())[1],
         ("File name too long", "shorter name", "--output")),
    Case("overwrite-symlink", "--overwrite of a symbolic link to a run folder",
         _output_symlink, ("{out}", "symbolic link", "{root}/run", "left alone")),
    Case("overwrite-foreign-files", "--overwrite of a run folder that also holds the user's files",
         _overwrite_foreign_files, ("{out}", "photos/, thesis.tex", "nothing was deleted")),
    Case("overwrite-live-run", "--overwrite of a run folder whose run is still going",
         lambda ws: _live_run(ws, "--overwrite"), ("{out}", "still going (process 4242)", "Wait for it")),
    Case("resume-live-run", "--resume of a run that is still going",
         lambda ws: _live_run(ws, "--resume", str(ws.out)), ("{out}", "still going (process 4242)")),
    Case("resume-unknown-partial", "--resume with a checkpoint whose partial epoch holds an unknown key",
         _resume_unknown_partial, ("{out}/checkpoint.pt", "partial.surprise", "extra inputs are not permitted"),
         note="the run stays \"finished\""),
    Case("builtin-in-checkpoint", "checkpoint asking to call a builtin (eval)",
         _builtin_in_checkpoint, ("Refusing to load", "{out}/checkpoint.pt", "call eval", "would run code")),
    Case("code-in-checkpoint", "checkpoint carrying a pickled object that would run code",
         _code_in_checkpoint, ("Refusing to load", "{out}/checkpoint.pt", "system", "was not loaded")),
    # Data
    Case("data-folder-missing", "data folder missing",
         lambda ws: ws.run(recipe=ws.mnist_recipe(ws.root / "nowhere")),
         ("{root}/nowhere/MNIST/raw", "TOOLKIT_DATA", "download = true")),
    Case("idx-truncated", "IDX file cut short",
         _truncated_idx, ("{root}/data/MNIST/raw/train-images-idx3-ubyte", "truncated", "complete copy")),
    Case("idx-wrong-magic", "IDX file with a wrong magic number",
         _wrong_magic, ("{root}/data/MNIST/raw/t10k-images-idx3-ubyte", "magic number", "fresh copy")),
    Case("image-label-count", "images and labels of different counts",
         _count_mismatch, ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "200 images", "150 labels",
                           "matching pair")),
    Case("idx-gz-corrupt", "gzipped IDX file damaged inside",
         _corrupt_gz_idx, ("{root}/data/MNIST/raw/train-images-idx3-ubyte.gz", "fresh copy")),
    Case("image-bomb-png", "PNG whose header claims 100000x100000 pixels",
         lambda ws: _image_bomb(ws, "huge.png"), ("{root}/faces/s1/huge.png", "too large to decode safely",
                                                   "10000000000 pixels")),
    Case("image-bomb-pgm", "PGM whose header claims 100000x100000 pixels",
         lambda ws: _image_bomb(ws, "huge.pgm"), ("{root}/faces/s1/huge.pgm", "too large to decode safely")),
    Case("one-class", "training data with one class only (no negative pairs)",
         _one_class, ("1 class(es)", "at least two classes", "Add images of more classes")),
    Case("class-of-one", "a class with a single image (no positive pair)",
         _class_of_one, ("Classes [9]", "single training image", "at least two images")),
    Case("balanced-too-many-classes", "class-balanced sampler asked for more classes per batch than exist",
         _balanced_too_many_classes, ("sampler.classes_per_batch = 12", "only 10 classes", "at most 10")),
    # pytorch-metric-learning components
    Case("pml-parameter-typo", "misspelt parameter of a PML loss",
         lambda ws: ws.run(recipe=_pml_recipe(ws, PML_LOSS + "\nbeta_ = 40.0")),
         ("{recipe}", "[loss] 'pml.MultiSimilarityLoss'", "loss.beta_: unknown parameter", "Did you mean 'beta'")),
    Case("pml-required-missing", "PML loss with weights, without its number of classes",
         lambda ws: ws.run(recipe=_pml_recipe(ws, 'name = "pml.ArcFaceLoss"\nembedding_size = 8')),
         ("{recipe}", "[loss] 'pml.ArcFaceLoss'", "loss.num_classes", "required")),
    Case("pml-embedding-size-mismatch", "PML loss built for another embedding size than the encoder's",
         lambda ws: ws.run(recipe=_pml_recipe(ws, 'name = "pml.ArcFaceLoss"\nnum_classes = 10\nembedding_size = 64')),
         ("{recipe}", "while training", "loss.embedding_size = 64", "8-dimensional", "embedding_size = 8")),
    Case("pml-unknown-distance", "PML distance name with a typo",
         lambda ws: ws.run(recipe=_pml_recipe(ws, PML_LOSS + '\ndistance = "CosineSimilarty"')),
         ("{recipe}", "loss.distance: unknown PML distance 'CosineSimilarty'", "Did you mean 'CosineSimilarity'")),
    Case("pml-miner-without-mining-loss", "miner given to a loss that takes no miner",
         lambda ws: ws.run(recipe=ws.recipe(QUICK_RECIPE + '\n[miner]\nname = "pml.MultiSimilarityMiner"\n')),
         ("{recipe}", "[miner]", "'contrastive' takes no miner")),
    Case("folder-missing", "image folder that does not exist",
         lambda ws: ws.run(recipe=ws.faces_recipe(ws.root / "nowhere")),
         ("{root}/nowhere", "dataset.folder", "does not exist", "one sub-folder per class")),
    Case("folder-one-class", "image folder with a single class sub-folder",
         _folder_one_class, ("{root}/faces", "1 class sub-folder(s) ('s1')", "at least two classes")),
    Case("folder-class-of-one", "class folder holding a single image",
         _folder_class_of_one, ("{root}/faces/s2", "a single image", "at least two images", "Add images")),
    Case("folder-class-without-images", "class folder holding no image files",
         _folder_class_without_images, ("{root}/faces/s5", "no image files", "png, jpg", "remove it")),
    Case("folder-unreadable-image", "image file in the folder that cannot be read",
         _folder_unreadable_image, ("{root}/faces/s1/3.pgm", "Cannot read the image", "Replace it")),
    Case("folder-mixed-sizes", "images of different sizes and no dataset.size",
         _folder_mixed_sizes, ("{root}/faces/s9", "12x10", "8x8", "dataset.size = [height, width]")),
    Case("table-missing-file", "table row naming a file that does not exist",
         _table_missing_file, ("images.csv row 4", "missing.pgm", "does not exist", 'on_bad_image = "skip"')),
    Case("table-empty-label", "table row with an empty label",
         _table_empty_label, ("images.csv row 6", "the label is empty", "or remove the row")),
    Case("image-too-large", "image over PIL's decompression-bomb limit",
         _image_too_large, ("{root}/faces/s1/", "too large to decode safely", "MAX_IMAGE_PIXELS")),
    Case("augment-unknown", "misspelt augmentation step",
         _augment_unknown, ("augment.0.name", "RandomHorizontalFlip")),
    Case("augment-changes-shape", "augmentation step that changes the image size",
         _augment_changes_shape, ("[[augment]] 0 ('RandomResizedCrop')", "(1, 8, 8)", "keep the image's shape")),
    Case("augment-normalize", "Normalize written as an augmentation step", _normalize_step,
         ("{root}/recipe.toml", 'augment.0.name = "Normalize"', "under [dataset] instead", "mean = [0.5]")),
    Case("normalize-mean-channels", "per-channel mean for images of another number of channels", _mean_per_channel,
         ("{root}/recipe.toml", "[dataset]", "mean = [0.485, 0.456, 0.406] has 3 values", "1 channel(s)")),
    Case("normalize-std-zero", "normalisation std of 0", _std_zero,
         ("{root}/recipe.toml", "dataset.std", "expected float (> 0)")),
    # Plugins
    Case("plugin-import-error", "plugin that raises on import",
         _plugin_import_error, ("loss.name", "'broken-losses.plugin' failed to load", "ImportError",
                                "toolkit list losses")),
    Case("plugin-hook-raises", "plugin whose register hook raises",
         _plugin_hook_raises, ("'hooky.plugin' failed to load", "register_losses raised RuntimeError",
                               "could not read my config file")),
    Case("plugin-name-clash", "two plugins registering the same name",
         _plugin_name_clash, ("'twin'", "'twin-a.plugin'", "'twin-b.plugin'", "TOOLKIT_LOAD_PLUGINS")),
    Case("plugin-misspelt-hook", "plugin whose hook function is misspelt (register_loss)",
         _plugin_misspelt_hook, ("'typo.plugin' failed to load", "register_loss is not a toolkit hook",
                                 "Did you mean 'register_losses'?")),
    Case("plugin-api-range", "plugin written for another plugin API version",
         _plugin_api_range, ("'futuristic.plugin' failed to load", "needs toolkit plugin API >=2.0,<3",
                             "this toolkit provides API 1.1.0")),
    Case("plugin-constructor-bug", "plugin whose constructor raises TypeError with valid parameters",
         _plugin_constructor_bug, ("[loss] 'fancy'", "'buggy.plugin' raised TypeError", "{root}/site/buggy.py:9",
                                   "bug in that plugin")),
    Case("plugin-wrong-kind", "plugin factory returning the wrong kind of object",
         _plugin_wrong_kind, ("[encoder] 'lazy'", "'sloppy.plugin'", "returned dict", "torch.nn.Module",
                              "report it")),
    # Distributed runs and large galleries
    Case("resume-other-world-size", "resuming a run started by torchrun with 2 processes without torchrun",
         _resume_other_world_size, ("{out}/checkpoint.pt", "world_size is 2", "this run has 1",
                                    "torchrun --nproc_per_node 2")),
    Case("torchrun-variables-not-numbers", "WORLD_SIZE set by hand to something that is not a number",
         _torchrun_variables_not_numbers, ("WORLD_SIZE='two'", "torchrun", "unset WORLD_SIZE")),
    Case("knn-unknown-index", "knn evaluator asked for a faiss index that does not exist",
         lambda ws: ws.run("evaluators.0.index=annoy"),
         ("{recipe}", "evaluators.0.index", "'annoy'")),
    # A run folder from someone else, or damaged
    Case("metrics-a-list", "metrics.json holding a list",
         lambda ws: _damaged_run_file(ws, "metrics.json", "[1, 2]", "report"),
         ("{root}/run/metrics.json", "not a valid metrics file", "input should be a valid dictionary")),
    Case("metrics-evaluation-a-list", "metrics.json whose evaluation is a list",
         lambda ws: _damaged_run_file(ws, "metrics.json", '{"evaluation": []}', "report"),
         ("{root}/run/metrics.json", "evaluation")),
    Case("status-wrong-type", "status.json whose status is a number",
         lambda ws: _damaged_run_file(ws, "status.json", '{"status": 3}', "html"),
         ("{root}/run/status.json", "not a valid run status file", "status")),
    Case("threshold-empty", "threshold.json holding {}",
         lambda ws: _damaged_run_file(ws, "threshold.json", "{}", "compare"),
         ("{root}/run/threshold.json", "threshold: field required")),
    Case("threshold-a-string", "threshold.json holding a string",
         lambda ws: _damaged_run_file(ws, "threshold.json", '"near"', "compare"),
         ("{root}/run/threshold.json", "valid dictionary")),
    Case("threshold-a-list", "threshold.json holding a list",
         lambda ws: _damaged_run_file(ws, "threshold.json", "[0.5]", "compare"),
         ("{root}/run/threshold.json", "valid dictionary")),
    Case("transform-negative-height", "transform.json with a negative height",
         lambda ws: _damaged_run_file(ws, "transform.json", TRANSFORM.format(height=-8, width=8), "compare"),
         ("{root}/run/transform.json", "height: input should be greater than or equal to 1")),
    Case("transform-huge", "transform.json claiming 60000x60000 images",
         lambda ws: _damaged_run_file(ws, "transform.json", TRANSFORM.format(height=60000, width=60000), "compare"),
         ("{root}/run/transform.json", "less than or equal to 16384")),
    Case("run-recipe-not-text", "run folder whose recipe.toml is not UTF-8",
         _run_recipe_not_utf8, ("{root}/run/recipe.toml", "UTF-8")),
    Case("run-recipe-huge-layers", "run folder whose recipe.toml asks for layers of 100,000 units",
         _run_recipe_huge_layers, ("{root}/run/recipe.toml", "bytes of weights", "{root}/run/encoder.pt",
                                   "nothing was built")),
    Case("run-recipe-reads-elsewhere", "run folder whose recipe.toml sends the dataset to /etc",
         _run_recipe_reads_elsewhere, ("{root}/run/recipe.toml", "dataset.folder = '/etc'", "{root}/data",
                                       "nothing there was read", "TOOLKIT_DATA")),
    # Training
    Case("nan-loss", "loss that is NaN on every step",
         _nan_loss, ("not a finite number on 21 steps", "run.max_bad_steps = 20", "Lower the learning rate")),
]


def fill(text: str, ws: Workspace) -> str:
    return text.format(root=ws.root, out=ws.out, recipe=ws.root / "recipe.toml")


def run_case(case: Case, root: Path) -> tuple[Workspace, Outcome, dict[str, str], dict[str, str]]:
    """Set the case up in ``root``, run it through the CLI; returns the outcome and the folder before and after."""
    with ExitStack() as stack:
        ws = Workspace(root, stack)
        args = case.setup(ws)
        before = snapshot(root)
        outcome = invoke(args)
        after = snapshot(root)
    return ws, outcome, before, after


def catalogue_markdown(root: Path) -> str:
    """The catalogue table for docs/reliability.md, from running every case in sub-folders of ``root``."""
    lines = ["| case | what the user did | exit | message |", "| --- | --- | --- | --- |"]
    for case in CASES:
        folder = root / case.id
        folder.mkdir(parents=True)
        ws, outcome, _, _ = run_case(case, folder)
        message = outcome.message.replace(str(folder), "…").replace("|", "\\|")
        note = f" ({case.note})" if case.note else ""
        lines.append(f"| `{case.id}` | {case.title}{note} | {outcome.exit_code} | {message} |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- catalogue:begin -->", "<!-- catalogue:end -->"


def write_docs(page: Path) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        table = catalogue_markdown(Path(tmp).resolve())
    text = page.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    page.write_text(f"{head}{BEGIN}\n{table}{END}{tail}")


if __name__ == "__main__":
    write_docs(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/reliability.md"))
