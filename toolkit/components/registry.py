"""The registry: every component that the loaded plugins registered, by kind and name."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from toolkit.components import hookspecs
from toolkit.components.kinds import KINDS, SINGULAR
from toolkit.components.lazy import resolved
from toolkit.errors import ToolkitError, did_you_mean
from toolkit.components.params import Parameter, parameters
from toolkit.components.loading import LoadedPlugins, load_plugins



@dataclass(frozen=True)
class Component:
    """A registered factory and where it came from."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(resolved(self.factory)) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    @property
    def parameters(self) -> list[Parameter]:
        return parameters(self.factory)


class Registry:
    """Components by kind and name, built by calling each plugin's ``register_*`` hooks."""

    def __init__(self, loaded: LoadedPlugins):
        self.loaded = loaded
        self._components: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
        clashes: list[str] = []
        for kind, hook_name in hookspecs.HOOKS.items():
            for impl in getattr(loaded.manager.hook, hook_name).get_hookimpls():
                for name, factory in self._call_hook(kind, hook_name, impl.plugin_name):
                    clashes += self._add(Component(kind, name, factory, impl.plugin_name))
        if clashes:
            raise ToolkitError(
                f"Plugins register the same names: {' '.join(clashes)} Uninstall one plugin of each pair, or leave it out "
                "with TOOLKIT_LOAD_PLUGINS (a list of the distributions to load besides the built-ins)."
            )

    def _call_hook(self, kind: str, hook_name: str, plugin_name: str) -> list[tuple[str, Callable[..., Any]]]:
        """Run one plugin's hook through pluggy; if it raises or registers something invalid, report the plugin and
        keep none of that hook's components."""
        manager = self.loaded.manager
        others = [plugin for name, plugin in manager.list_name_plugin() if name != plugin_name]
        staged: list[tuple[str, Callable[..., Any]]] = []
        try:
            manager.subset_hook_caller(hook_name, remove_plugins=others)(
                register=lambda name, factory: staged.append((name, factory)))
            for index, (name, factory) in enumerate(staged):
                self._check_entry(kind, plugin_name, name, factory, staged[:index])
        except Exception as exc:  # a broken plugin must not stop the others
            self.loaded.record_failure(plugin_name, f"{hook_name} raised {type(exc).__name__}: {exc}")
            return []
        return staged

    def _add(self, component: Component) -> list[str]:
        """Add ``component``; a name another plugin registered already is a clash, described for the error."""
        existing = self._components[component.kind].get(component.name)
        if existing is None:
            self._components[component.kind][component.name] = component
            return []
        return [f"the {SINGULAR[component.kind]} {component.name!r} by {self._describe(existing.plugin)} and by "
                f"{self._describe(component.plugin)}."]

    def _describe(self, plugin_name: str) -> str:
        info = self.loaded.info(plugin_name)
        if info is not None and info.builtin:
            return f"the built-in plugin {plugin_name!r}"
        return f"the plugin {plugin_name!r}" + (f" ({info.distribution} {info.version})" if info else "")

    @staticmethod
    def _check_entry(kind: str, plugin: str, name: Any, factory: Any, earlier: list[tuple[str, Any]]) -> None:
        if not isinstance(name, str) or not name:
            raise ToolkitError(f"Plugin {plugin!r} registered a {SINGULAR[kind]} with an invalid name {name!r}; names are non-empty strings.")
        if not callable(factory):
            raise ToolkitError(f"Plugin {plugin!r} registered {SINGULAR[kind]} {name!r} with a factory that is not callable ({factory!r}).")
        if any(name == seen for seen, _ in earlier):
            raise ToolkitError(f"Plugin {plugin!r} registered the {SINGULAR[kind]} {name!r} twice; each name is registered once.")

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
        hint = did_you_mean(name, known)
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
