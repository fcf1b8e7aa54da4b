"""A factory named by import path is imported only when a recipe uses it or a listing inspects it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from toolkit.api import LazyFactory, ToolkitError
from toolkit.components.params import check_parameters, parameters


def test_calling_a_lazy_factory_calls_the_named_object():
    make = LazyFactory("fractions", "Fraction")
    assert make(3, 4) == 0.75


def test_the_parameters_of_a_lazy_factory_are_those_of_the_named_class():
    flip = LazyFactory("torchvision.transforms.v2", "RandomHorizontalFlip")
    assert [p.name for p in parameters(flip)] == ["p"]
    assert check_parameters(flip, {"q": 0.5})[0].key == "q"


def test_a_name_the_module_lacks_is_a_clear_error():
    with pytest.raises(ToolkitError, match="torchvision.transforms.v2.RandomTeleport cannot be imported"):
        LazyFactory("torchvision.transforms.v2", "RandomTeleport")()


@pytest.mark.slow
def test_loading_the_plugins_does_not_import_torchvision():
    code = ("import sys; from toolkit.components.registry import default_registry; "
            "default_registry(); print('torchvision' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
