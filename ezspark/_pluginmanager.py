"""The plugin manager: built-in plugins, then the entry-point group ``ezspark``."""
from __future__ import annotations

import os

import pluggy

from . import hookspecs

__all__ = ["get_plugin_manager", "make_plugin_manager", "DEFAULT_PLUGINS"]

#: Built-in plugins registered in every manager (modules of ezspark.plugins).
DEFAULT_PLUGINS: tuple[str, ...] = ()

_manager: pluggy.PluginManager | None = None


def make_plugin_manager(*, autoload: bool | None = None) -> pluggy.PluginManager:
    """A new manager with the hookspecs, the built-in plugins and (unless autoload is
    False or EZSPARK_DISABLE_PLUGIN_AUTOLOAD=1) the installed entry-point plugins."""
    import importlib

    pm = pluggy.PluginManager("ezspark")
    pm.add_hookspecs(hookspecs.EzsparkSpec)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if autoload is None:
        autoload = os.environ.get("EZSPARK_DISABLE_PLUGIN_AUTOLOAD") != "1"
    if autoload:
        pm.load_setuptools_entrypoints("ezspark")
    pm.check_pending()
    if os.environ.get("EZSPARK_TRACE_PLUGINS") == "1":
        pm.trace.root.setwriter(print)
        pm.enable_tracing()
    return pm


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager, built on first use."""
    global _manager
    if _manager is None:
        _manager = make_plugin_manager()
    return _manager
