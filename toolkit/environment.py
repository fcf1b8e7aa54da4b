"""What a run ran on: package versions, plugins, device and processor, threads and precision.

Recorded in ``metrics.json`` (``environment``) and shown in ``report.html``, so a result can be traced to the
software and machine that produced it.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

PACKAGES = ("metric-toolkit", "torch", "torchvision", "faiss-cpu", "faiss-gpu", "faiss", "pytorch-metric-learning",
            "numpy")


def environment(device: Any, precision: str) -> dict[str, Any]:
    """A JSON-friendly description of the software and hardware of this process."""
    import torch

    return {
        # torch's own version string names its build (+cpu, +cu130), which the package metadata leaves out
        "versions": {"python": platform.python_version(), **_versions(), "torch": torch.__version__},
        "plugins": _plugins(),
        "device": str(device),
        "device_name": _device_name(torch, device),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "precision": precision,
        "platform": platform.platform(),
    }


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _plugins() -> dict[str, str]:
    """``distribution: version`` of every loaded plugin package (the built-ins are ``metric-toolkit``)."""
    from toolkit.components.registry import default_registry

    return {info.distribution: info.version for info in default_registry().loaded.plugins if not info.error}


def _device_name(torch: Any, device: Any) -> str:
    kind = str(device).split(":")[0]
    if kind == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(str(device)))
    if kind == "mps":
        return "Apple GPU (mps)"
    return cpu_model()


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def describe(env: dict[str, Any]) -> list[tuple[str, str]]:
    """``(what, value)`` rows for a person: the report's "What ran" table."""
    versions = env.get("versions") or {}
    rows = [("device", f"{env.get('device')} ({env.get('device_name')})"),
            ("processor", f"{env.get('cpu')}, {env.get('cpu_count')} logical cores, {env.get('threads')} threads used"),
            ("precision", str(env.get("precision")))]
    rows += [(name, version) for name, version in versions.items()]
    rows += [(f"plugin {name}", version) for name, version in (env.get("plugins") or {}).items() if name not in versions]
    return rows
