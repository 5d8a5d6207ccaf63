"""Training JSON text and mappings <-> `TrainingConfig` (docs/algorithm.md 2.1).

Everything a user can get wrong is reported as one `ConfigError`: unknown keys (with the closest
valid key), duplicate keys and bad values together; invalid JSON with its line and column; a
missing file. Nothing here exits the process.
"""
from __future__ import annotations

import difflib
import json
import os
import shlex
from typing import Any, Iterable, Mapping

import attrs

from ezspark.config.training import ConfigError, Problem, TrainingConfig, show

__all__ = ["config_from_dict", "config_from_json", "config_to_dict", "config_to_json"]

# Stand-in for a JSON number too large for Python to convert (an int of more than 4300 digits,
# or a float literal beyond 1.8e308). Every key rejects it as out of range, which is all the
# report needs; the exact value does not matter.
_HUGE = 10**400


def config_from_dict(mapping: Mapping[str, Any]) -> TrainingConfig:
    """Build a configuration from key names and JSON values; ``None`` (null) means the default."""
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"the training configuration must be an object, not {show(mapping)}")
    return _build(mapping.items(), [])


def config_from_json(source: str | os.PathLike[str]) -> TrainingConfig:
    """Read a training JSON from a path (str or os.PathLike) or from JSON text.

    A str is read as JSON text when it starts with ``{`` or ``[``, or when no file of that name
    exists and it parses as JSON; otherwise it is a path.
    """
    text, where = _read(source)
    try:
        data = json.loads(text, object_pairs_hook=_JsonObject.from_pairs, parse_int=_parse_int,
                          parse_float=_parse_float,
                          # NaN and ±Infinity become floats, which validation rejects by key.
                          parse_constant=float)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{where}invalid JSON at line {err.lineno}, column {err.colno}: "
                          f"{err.msg}") from None
    except RecursionError:
        raise ConfigError(f"{where}invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}the training JSON must be one object, not {_json_type(data)}")
    problems = [Problem(key, data[key], "duplicate key (a key may appear only once)")
                for key in data.duplicates]
    return _build(data.items(), problems)


def config_to_dict(config: TrainingConfig) -> dict[str, Any]:
    """A plain dict of every key in key order; unset extension keys are None."""
    return {name: getattr(config, name) for name in config.keys()}


def config_to_json(config: TrainingConfig) -> str:
    """Pretty JSON (indent 2, trailing newline); `config_from_json` reads it back equal."""
    return json.dumps(config_to_dict(config), indent=2, ensure_ascii=False) + "\n"


def _build(items: Iterable[tuple[Any, Any]], problems: list[Problem]) -> TrainingConfig:
    """Validate items against the fields, reporting ``problems`` together with the class's own."""
    fields = attrs.fields_dict(TrainingConfig)
    values = {}
    for key, value in items:
        field = fields.get(key) if isinstance(key, str) else None
        if field is None:
            problems.append(_unknown_key(key, value, fields))
        elif value is not None or field.metadata["required"]:
            # null means "use the default"; for a required key the class reports it.
            values[key] = value
    try:
        config = TrainingConfig(**values)
    except ConfigError as err:
        problems.extend(err.problems)
    if problems:
        order = {name: index for index, name in enumerate(fields)}
        problems.sort(key=lambda problem: order.get(problem.key, len(order)))
        raise ConfigError(problems)
    return config


def _unknown_key(key: Any, value: Any, fields: Mapping[str, Any]) -> Problem:
    name = key if isinstance(key, str) else show(key)
    close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else "see the list of keys in the docs"
    return Problem(name, value, f"unknown key; {hint}")


def _read(source: str | os.PathLike[str]) -> tuple[str, str]:
    """Return (JSON text, prefix naming the file for messages)."""
    if isinstance(source, str) and _is_json_text(source):
        return source, ""
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"expected a path or JSON text, got {type(source).__name__}")
    path = os.fspath(source)
    try:
        with open(path, encoding="utf-8-sig") as file:
            return file.read(), f"{path}: "
    except FileNotFoundError:
        raise ConfigError(f"no such file: {path} (python -m ezspark init "
                          f"{shlex.quote(path)} writes one)") from None
    except IsADirectoryError:
        raise ConfigError(f"not a file: {path}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except ValueError:  # a path with a NUL character
        raise ConfigError(f"no such file: {path!r}") from None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None


def _is_json_text(text: str) -> bool:
    if text.lstrip().startswith(("{", "[")):
        return True
    if os.path.exists(text):
        return False
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


class _JsonObject(dict):
    """A JSON object that remembers which keys appeared more than once (the last value wins)."""

    duplicates: list[str]

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, Any]]) -> _JsonObject:
        obj = cls()
        obj.duplicates = []
        for key, value in pairs:
            if key in obj and key not in obj.duplicates:
                obj.duplicates.append(key)
            obj[key] = value
        return obj


def _parse_int(text: str) -> int:
    # Python refuses to convert more than 4300 digits (sys.get_int_max_str_digits).
    if len(text.lstrip("-")) > 4000:
        return -_HUGE if text.startswith("-") else _HUGE
    return int(text)


def _parse_float(text: str) -> float | int:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # a finite literal beyond the float range
        return -_HUGE if value < 0 else _HUGE
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
