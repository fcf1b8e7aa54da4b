"""What ``toolkit list`` and ``toolkit plugins`` show, kept in a cache file so that showing it imports no plugin.

Building the registry imports every plugin, and the built-in ones import torch, which is slow. What it yields for
these two commands (each plugin's version and hooks, each component's summary and parameters) changes only when
the installed distributions or the plugins' files change. So the description is written to
``<cache folder>/components-<environment>.json`` together with a fingerprint of exactly those things: the
Python version and ``sys.prefix``, the ``*.dist-info`` folders on ``sys.path``, the ``toolkit`` entry points, the
size and modification time of every file of the packages the entry points name and of the core, and
``TOOLKIT_LOAD_PLUGINS``. When the fingerprint matches, the file is the answer; otherwise the registry is built
as always and the file rewritten. Nothing is cached while a plugin fails to load, so its error shows every time,
and a process that has imported the registry already (a test, a program using the API) describes its own.

The cache folder is ``$TOOLKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/toolkit``, else ``~/.cache/toolkit``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.components.kinds import KINDS
from toolkit.components.loading import ALLOWLIST_VARIABLE, ENTRY_POINT_GROUP

if TYPE_CHECKING:
    from toolkit.components.registry import Registry

CACHE_VARIABLE = "TOOLKIT_CACHE_DIR"


def installed() -> dict[str, Any]:
    """``{"plugins": [...], "components": {kind: [...]}}`` of the installed plugins, from the cache when it is current."""
    if "toolkit.components.registry" in sys.modules:  # this process works with components already (a test, an API user)
        from toolkit.components.registry import default_registry

        return describe(default_registry())
    path, key = cache_file(), fingerprint()
    cached = _read(path)
    if cached is not None and cached.get("fingerprint") == key:
        return cached["description"]
    from toolkit.components.registry import default_registry

    built = default_registry()
    description = describe(built)
    if not built.loaded.failures:
        _write(path, {"fingerprint": key, "description": description})
    return description


def describe(built: Registry) -> dict[str, Any]:
    """The registry as plain data: plugins with their components, and every component with its parameters."""
    plugins = []
    for info in built.loaded.plugins:
        components = {kind: [c.name for c in built.components(kind) if c.plugin == info.name] for kind in KINDS}
        plugins.append({"name": info.name, "distribution": info.distribution, "version": info.version,
                        "builtin": info.builtin, "hooks": info.hooks, "requires_api": info.requires_api,
                        "error": info.error, "traceback": info.traceback,
                        "components": {k: v for k, v in components.items() if v}})
    components = {kind: [{"name": c.name, "plugin": c.plugin, "summary": c.summary,
                          "parameters": [{"name": p.name, "type": p.type_name, "required": p.required,
                                          "default": None if p.required else repr(p.default), "doc": p.doc}
                                         for p in c.parameters]}
                         for c in built.components(kind)] for kind in KINDS}
    from toolkit.api import API_VERSION

    return {"api_version": API_VERSION, "plugins": plugins, "components": components}


def cache_file() -> Path:
    """This environment's cache file (one per ``sys.prefix``, so virtual environments do not share one)."""
    folder = os.environ.get(CACHE_VARIABLE) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "toolkit"
    environment = hashlib.sha256(sys.prefix.encode()).hexdigest()[:16]
    return Path(folder) / f"components-{environment}.json"


def fingerprint() -> str:
    """A hash of everything the description depends on (see the module's docstring)."""
    parts: list[Any] = [sys.version, sys.prefix, os.environ.get(ALLOWLIST_VARIABLE)]
    for entry in sys.path:  # only folders holding distributions: the current folder (python -m) is usually not one
        try:
            found = sorted(n for n in os.listdir(entry or ".") if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        if found:
            parts.append([os.path.abspath(entry or "."), found])
    modules = {"toolkit"}
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        parts.append([entry_point.name, entry_point.value, entry_point.dist.metadata["Name"] if entry_point.dist else None])
        modules.add(entry_point.value.partition(":")[0].partition(".")[0])
    parts += [[module, _file_stats(module)] for module in sorted(modules)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _file_stats(module: str) -> list[Any]:
    """Name, size and modification time of each file of a top-level module or package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return []
    files = [spec.origin] if spec.origin and not spec.submodule_search_locations else []
    for folder in spec.submodule_search_locations or []:
        for root, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            files += [os.path.join(root, n) for n in sorted(names)]
    stats = []
    for file in files:
        try:
            stat = os.stat(file)
        except OSError:
            continue
        stats.append([file, stat.st_size, stat.st_mtime_ns])
    return stats


def _read(path: Path) -> dict[str, Any] | None:
    from toolkit.runfolder.rundir import read_json

    data = read_json(path)
    return data if isinstance(data, dict) and isinstance(data.get("description"), dict) else None


def _write(path: Path, data: dict[str, Any]) -> None:
    """Best effort: a cache folder that cannot be written only means the next listing builds the registry again."""
    from toolkit.runfolder.rundir import write_json

    try:
        write_json(path, data)
    except OSError:
        pass
