"""The registry: every component that the loaded plugins registered, by kind and name."""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from toolkit.components import hookspecs
from toolkit.errors import ToolkitError
from toolkit.components.params import Parameter, parameters
from toolkit.components.loading import LoadedPlugins, load_plugins

KINDS: tuple[str, ...] = tuple(hookspecs.HOOKS)
SINGULAR = {"datasets": "dataset", "encoders": "encoder", "losses": "loss", "samplers": "sampler",
            "miners": "miner", "evaluators": "evaluator", "augmentations": "augmentation"}


@dataclass(frozen=True)
class Component:
    """A registered factory and where it came from."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.factory) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    @property
    def parameters(self) -> list[Parameter]:
        return parameters(self.factory)


class Registry:
    """Components by kind and name, built by calling each plugin's ``register_*`` hooks."""

    def __init__(self, loaded: LoadedPlugins):
        self.loaded = loaded
        self._components: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
        for kind, hook_name in hookspecs.HOOKS.items():
            for impl in getattr(loaded.manager.hook, hook_name).get_hookimpls():
                self._call_hook(kind, hook_name, impl)

    def _call_hook(self, kind: str, hook_name: str, impl: Any) -> None:
        """Run one plugin's hook; if it raises, report the plugin and keep none of that hook's components."""
        staged: list[tuple[str, Callable[..., Any]]] = []
        try:
            impl.function(register=lambda name, factory: staged.append((name, factory)))
            for name, factory in staged:
                self._check_entry(kind, impl.plugin_name, name, factory)
        except Exception as exc:  # a broken plugin must not stop the others
            self.loaded.record_failure(impl.plugin_name, f"{hook_name} raised {type(exc).__name__}: {exc}")
            return
        for name, factory in staged:
            existing = self._components[kind].get(name)
            if existing is not None:
                raise ToolkitError(
                    f"Two plugins register the {SINGULAR[kind]} {name!r}: {existing.plugin!r} and {impl.plugin_name!r}. "
                    f"Uninstall one of them, or leave one out with TOOLKIT_LOAD_PLUGINS."
                )
            self._components[kind][name] = Component(kind, name, factory, impl.plugin_name)

    @staticmethod
    def _check_entry(kind: str, plugin: str, name: Any, factory: Any) -> None:
        if not isinstance(name, str) or not name:
            raise ToolkitError(f"Plugin {plugin!r} registered a {SINGULAR[kind]} with an invalid name {name!r}; names are non-empty strings.")
        if not callable(factory):
            raise ToolkitError(f"Plugin {plugin!r} registered {SINGULAR[kind]} {name!r} with a factory that is not callable ({factory!r}).")

    def names(self, kind: str) -> list[str]:
        return sorted(self._components[kind])

    def components(self, kind: str) -> list[Component]:
        return [self._components[kind][n] for n in self.names(kind)]

    def get(self, kind: str, name: str, *, where: str = "") -> Component:
        """The component ``name`` of ``kind``; an unknown name is a ToolkitError suggesting close names."""
        try:
            return self._components[kind][name]
        except KeyError:
            pass
        known = self.names(kind)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        prefix = f"{where}: " if where else ""
        failed = "".join(f" Plugin {p.name!r} failed to load ({p.error}), so anything it registers is missing."
                         for p in self.loaded.failures)
        raise ToolkitError(
            f"{prefix}unknown {SINGULAR[kind]} {name!r}.{hint} "
            f"Registered {kind}: {', '.join(known) or 'none'}. `toolkit list {kind}` shows them with their parameters.{failed}"
        )


_default: Registry | None = None


def default_registry() -> Registry:
    """The registry of the installed plugins, built once per process."""
    global _default
    if _default is None:
        _default = Registry(load_plugins())
    return _default


def reset_default_registry() -> None:
    """Forget the cached registry (after installing or removing a plugin)."""
    global _default
    _default = None
