"""The plugin manager: built-in plugins, then the entry-point group ``ezspark``.

Installed (entry-point) plugins are guarded: one that fails to import, whose hook raises,
or that registers an environment id that is already taken, is reported with a
``PluginWarning`` naming it and its distribution, and is switched off (or, for a clashing
id, that id is skipped).  ezspark keeps running every configuration that does not need
it.  Built-in plugins and plugins registered from Python with ``pm.register`` are not
guarded: their exceptions propagate.  A plugin registering again exactly the environment
that gymnasium already holds under that id (same entry point, kwargs and time limit), as
every plugin does when a second manager is built in one process, is no clash.
"""
from __future__ import annotations

import functools
import importlib
import os
import warnings
from importlib import metadata

import pluggy

from ezspark import hookspecs
from ezspark._version import __version__

__all__ = ["get_plugin_manager", "make_plugin_manager", "DEFAULT_PLUGINS", "PluginWarning",
           "plugin_envs", "plugin_info", "batched_entry"]

#: Built-in plugins, registered in every manager under their module names.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "ezspark.plugins.progress",
    "ezspark.plugins.summary",
    "ezspark.plugins.hdf5_store",
    "ezspark.plugins.poles",
    "ezspark.plugins.batched",
)

ENTRY_POINT_GROUP = "ezspark"

_manager: pluggy.PluginManager | None = None

#: Batched environments registered in this process (by any manager, as gymnasium's registry
#: holds their environments): env id -> (plugin name, factory).
_BATCHED: dict[str, tuple[str, object]] = {}


class PluginWarning(UserWarning):
    """A plugin is broken and was switched off (or one of its environments skipped)."""


class _Registry:
    """What each plugin registered: env id -> (plugin name, entry point)."""

    def __init__(self):
        self.envs: dict[str, tuple[str, str]] = {}
        self.dists: dict[str, tuple[str, str]] = {}      # plugin name -> (dist, version)
        self.broken: dict[str, str] = {}                 # plugin name -> reason


def _describe(pm, plugin) -> str:
    name = pm.get_name(plugin) if plugin is not None else "?"
    dist = getattr(pm, "_ezspark", _Registry()).dists.get(name)
    return f"plugin {name!r}" + (f" (from {dist[0]} {dist[1]})" if dist else "")


def _disable(pm, plugin, what: str, exc: BaseException) -> None:
    name = pm.get_name(plugin)
    reason = f"{what} raised {type(exc).__name__}: {exc}"
    warnings.warn(f"{_describe(pm, plugin)} is switched off: {reason}", PluginWarning,
                  stacklevel=2)
    pm._ezspark.broken[name] = reason
    pm.unregister(plugin)


def _guard(pm, plugin) -> None:
    """Wrap every hook implementation of ``plugin`` so that an exception switches the
    plugin off with a warning instead of stopping the caller."""
    for caller in pm.get_hookcallers(plugin) or ():
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin or impl.hookwrapper or impl.wrapper:
                continue
            inner = impl.function

            @functools.wraps(inner)
            def guarded(*args, _inner=inner, _hook=caller.name):
                if pm.get_name(plugin) is None:     # already switched off
                    return None
                try:
                    return _inner(*args)
                except Exception as exc:
                    _disable(pm, plugin, _hook, exc)
                    return None

            impl.function = guarded


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        dist = (ep.dist.name, ep.dist.version) if ep.dist is not None else ("?", "?")
        pm._ezspark.dists[ep.name] = dist
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            pm.check_pending()            # a misspelled hook name is this plugin's fault
        except Exception as exc:
            reason = f"it failed to load: {type(exc).__name__}: {exc}"
            pm._ezspark.broken[ep.name] = reason
            warnings.warn(f"plugin {ep.name!r} (from {dist[0]} {dist[1]}, entry point "
                          f"{ep.value}) is switched off: {reason}", PluginWarning, stacklevel=2)
            if pm.get_plugin(ep.name) is not None:
                pm.unregister(name=ep.name)
            continue
        _guard(pm, plugin)


def _register_envs(pm: pluggy.PluginManager) -> None:
    """Call every ``ezspark_register_envs`` with a ``register`` bound to its plugin."""
    import gymnasium

    for impl in reversed(pm.hook.ezspark_register_envs.get_hookimpls()):
        name = impl.plugin_name

        def register(env_id, entry_point, _name=name, **kwargs):
            taken, known = pm._ezspark.envs.get(env_id), gymnasium.registry.get(env_id)
            if taken is None and _same_env(known, entry_point, kwargs):
                pass        # an earlier manager of this process registered it: no clash
            elif taken is not None or known is not None:
                owner = f"plugin {taken[0]!r}" if taken else "gymnasium"
                warnings.warn(f"plugin {_name!r} registers environment {env_id!r}, which "
                              f"{owner} already registered; the second registration is "
                              "skipped", PluginWarning, stacklevel=2)
                return
            else:
                gymnasium.register(env_id, entry_point=entry_point, **kwargs)
            shown = entry_point if isinstance(entry_point, str) else \
                f"{getattr(entry_point, '__module__', '?')}:{getattr(entry_point, '__qualname__', '?')}"
            pm._ezspark.envs[env_id] = (_name, shown)

        impl.function(register)


def _register_batched(pm: pluggy.PluginManager) -> None:
    """Call every ``ezspark_register_batched_envs`` with a ``register`` bound to its plugin."""
    for impl in reversed(pm.hook.ezspark_register_batched_envs.get_hookimpls()):
        name = impl.plugin_name

        def register(env_id, factory, _name=name):
            known = _BATCHED.get(env_id)
            if known is not None and known[1] != factory:
                warnings.warn(f"plugin {_name!r} registers a batched version of {env_id!r}, "
                              f"which plugin {known[0]!r} already registered; the second "
                              "registration is skipped", PluginWarning, stacklevel=2)
                return
            _BATCHED[env_id] = (_name, factory)

        impl.function(register)


def batched_entry(env_id: str) -> tuple[str, object] | None:
    """(plugin name, factory) of the batched version registered for ``env_id`` in this
    process, or None (the process-wide manager is built first)."""
    get_plugin_manager()
    return _BATCHED.get(env_id)


def _same_env(spec, entry_point, kwargs: dict) -> bool:
    """Whether the registered ``spec`` is what ``register(id, entry_point, **kwargs)`` asks
    for: a plugin's registration repeated by a second plugin manager of the same process."""
    return (spec is not None and spec.entry_point == entry_point
            and spec.kwargs == kwargs.get("kwargs", {})
            and spec.max_episode_steps == kwargs.get("max_episode_steps"))


def make_plugin_manager(*, autoload: bool | None = None,
                        register_envs: bool = True) -> pluggy.PluginManager:
    """A new manager with the hookspecs, the built-in plugins and (unless ``autoload`` is
    False or EZSPARK_DISABLE_PLUGIN_AUTOLOAD=1) the installed entry-point plugins, whose
    environments are then registered with gymnasium (and their batched versions with
    ezspark).  Plugin names listed in
    EZSPARK_BLOCK_PLUGINS (comma-separated) are blocked."""
    pm = pluggy.PluginManager("ezspark")
    pm._ezspark = _Registry()
    pm.add_hookspecs(hookspecs.EzsparkSpec)
    for name in filter(None, os.environ.get("EZSPARK_BLOCK_PLUGINS", "").split(",")):
        pm.set_blocked(name.strip())
    for name in DEFAULT_PLUGINS:
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(name), name=name)
    if autoload is None:
        autoload = os.environ.get("EZSPARK_DISABLE_PLUGIN_AUTOLOAD") != "1"
    if autoload:
        _load_entry_points(pm)
    pm.check_pending()
    if register_envs:
        _register_envs(pm)
        _register_batched(pm)
    if os.environ.get("EZSPARK_TRACE_PLUGINS") == "1":
        pm.trace.root.setwriter(print)
        pm.enable_tracing()
    return pm


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager, built on first use (this registers plugin environments
    with gymnasium)."""
    global _manager
    if _manager is None:
        _manager = make_plugin_manager()
    return _manager


def plugin_envs(pm: pluggy.PluginManager | None = None) -> dict[str, tuple[str, str]]:
    """Environment id -> (plugin name, entry point) of every plugin-registered env."""
    pm = pm or get_plugin_manager()
    return dict(pm._ezspark.envs)


def plugin_info(pm: pluggy.PluginManager | None = None) -> list[dict]:
    """One dict per plugin (loaded or broken): name, distribution, version, hooks, status."""
    pm = pm or get_plugin_manager()
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist, version = pm._ezspark.dists.get(name, ("ezspark", _own_version())
                                               if name in DEFAULT_PLUGINS else ("", ""))
        hooks = sorted(c.name for c in pm.get_hookcallers(plugin) or ())
        rows.append({"name": name, "distribution": dist, "version": version, "hooks": hooks,
                     "status": "builtin" if name in DEFAULT_PLUGINS else "loaded"})
    for name, reason in pm._ezspark.broken.items():
        dist, version = pm._ezspark.dists.get(name, ("", ""))
        rows.append({"name": name, "distribution": dist, "version": version, "hooks": [],
                     "status": f"switched off: {reason}"})
    return rows


def _own_version() -> str:
    return __version__
