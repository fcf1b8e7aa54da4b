"""Throw-away plugin distributions on ``sys.path``, found through entry points like an installed package.

Writing a module and a ``*.dist-info`` folder (METADATA + entry_points.txt) into a folder on ``sys.path`` is
what ``pip install`` leaves behind, minus the copying; ``importlib.metadata`` finds it the same way. This keeps
plugin-failure tests fast (no pip) while exercising the real discovery path. Subprocesses see the same
plugins with ``PYTHONPATH=site``.
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from toolkit.components.registry import reset_default_registry


def write_distribution(site: Path, distribution: str, source: str, *, entry_point: str = "plugin") -> str:
    """Write a one-module plugin distribution into ``site``; returns the module's name."""
    module = distribution.replace("-", "_")
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[toolkit]\n{entry_point} = {module}\n")
    return module


@contextmanager
def installed(site: Path) -> Iterator[None]:
    """While inside, the distributions in ``site`` are installed plugins (the registry is rebuilt on entry and exit)."""
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    allowlist = os.environ.pop("TOOLKIT_LOAD_PLUGINS", None)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    reset_default_registry()
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in [m for m in sys.modules if m not in saved_modules and _inside(sys.modules[m], site)]:
            del sys.modules[name]
        if allowlist is not None:
            os.environ["TOOLKIT_LOAD_PLUGINS"] = allowlist
        importlib.invalidate_caches()
        reset_default_registry()


def _inside(module: object, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    return bool(file) and Path(file).resolve().is_relative_to(folder.resolve())


def registry_with(plugin: str, kind: str, components: dict[str, object]) -> Any:
    """The registry of the installed plugins plus an in-process plugin ``plugin`` that registers ``components``
    (name → factory) of ``kind``, through a real ``register_<kind>`` hook."""
    import types

    from toolkit.api import hookimpl
    from toolkit.components.loading import load_plugins
    from toolkit.components.registry import Registry

    def register_components(register):
        for name, factory in components.items():
            register(name, factory)

    hook_name = f"register_{kind}"
    register_components.__name__ = hook_name
    module = types.ModuleType(plugin)
    setattr(module, hook_name, hookimpl(register_components))
    loaded = load_plugins()
    loaded.manager.register(module, name=plugin)
    return Registry(loaded)
