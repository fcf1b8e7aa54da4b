"""Commands that never compile import torchvision without torch's compiler, and torchvision still works the same;
loading a run sizes its encoder without filling meta tensors (which would import the compiler too).

Each check runs in a fresh interpreter: which modules are imported is a property of the whole process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torchvision")


def _run(code: str, cwd=None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300,
                          cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done


def test_importing_torchvision_in_the_block_leaves_torch_dynamo_unimported():
    done = _run("""
        import sys
        from toolkit.cli.deferred_compiler import compiler_deferred
        with compiler_deferred():
            import torchvision.models, torchvision.transforms.v2, torchvision.tv_tensors
            print("torch._dynamo" in sys.modules)
        print(type(sys.modules.get("torch._dynamo.utils")).__name__)
    """)
    assert done.stdout.split() == ["False", "NoneType"]  # and the stand-in module is gone after the block


def test_torchvision_functions_that_reach_the_compiler_work_after_the_block():
    done = _run("""
        import torch
        from toolkit.cli.deferred_compiler import compiler_deferred
        with compiler_deferred():
            from torchvision import ops, tv_tensors
        image = tv_tensors.Image(torch.zeros(1, 4, 4))
        wrapped = tv_tensors.wrap(torch.ones(1, 4, 4), like=image)
        pooled = ops.roi_align(torch.full((1, 1, 4, 4), 3.0), torch.tensor([[0, 0.0, 0.0, 3.0, 3.0]]), output_size=1)
        from torchvision.ops.roi_align import is_compile_supported
        print(type(wrapped).__name__, pooled.item(), is_compile_supported("cpu"))
    """)
    assert done.stdout.split() == ["Image", "3.0", "True"]


def test_torch_compile_works_inside_and_after_the_block():
    done = _run("""
        import torch
        from toolkit.cli.deferred_compiler import compiler_deferred
        with compiler_deferred():
            import torchvision
            inside = torch.compile(lambda x: x * 2 + 1, backend="eager")(torch.ones(2))
            import torch._dynamo.utils
        after = torch.compile(lambda x: x - 1, backend="eager")(torch.ones(2))
        print(inside.tolist(), after.tolist(), type(torch._dynamo.utils).__name__)
    """)
    assert done.stdout.strip() == "[3.0, 3.0] [0.0, 0.0] module"


@pytest.mark.slow
def test_validate_of_a_torchvision_backbone_with_torchvision_augmentation_imports_no_compiler(tmp_path):
    from tests.conftest import write_faces

    write_faces(tmp_path / "faces", 6, 5, size=(32, 32))
    (tmp_path / "recipe.toml").write_text(f"""
[run]
epochs = 1
[dataset]
name = "image_folder"
folder = "{tmp_path / "faces"}"
train_classes = 3
channels = 1
[sampler]
name = "class_balanced"
classes_per_batch = 3
images_per_class = 2
[encoder]
name = "torchvision"
arch = "resnet18"
embedding_dim = 8
[loss]
name = "pml.MultiSimilarityLoss"
[[augment]]
name = "RandomHorizontalFlip"
[[evaluators]]
name = "knn"
query = "test"
gallery = "query"
k = [1]
""")
    done = _run("""
        import sys
        from toolkit.cli.main import main
        try:
            main(["validate", "recipe.toml"])
        except SystemExit as exit:
            print("exit", exit.code)
        print(sorted(m for m in ("torchvision", "torch._dynamo") if m in sys.modules))
    """, cwd=tmp_path)
    assert "recipe.toml: OK" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "['torchvision']"


def test_sizing_a_resnet_on_the_meta_device_leaves_torch_dynamo_unimported_and_restores_the_initialisers():
    done = _run("""
        import sys, torch
        from toolkit.cli.deferred_compiler import compiler_deferred
        from toolkit.model.trained import _initialisers_skipped
        with compiler_deferred():
            import torchvision.models
        normal = torch.nn.init.kaiming_normal_
        with torch.device("meta"), _initialisers_skipped():
            model = torchvision.models.resnet18()
            filled = torch.nn.init.constant_(torch.zeros(1, device="cpu"), 3.0).item()  # a real tensor is filled
        size = sum(t.numel() for t in model.state_dict().values() if t.is_floating_point())
        print(size, filled, "torch._dynamo" in sys.modules, torch.nn.init.kaiming_normal_ is normal)
    """)
    assert done.stdout.split() == ["11699112", "3.0", "False", "True"]  # resnet18's weights and BatchNorm statistics
