"""The questions of ``ezspark init``: one per key, answers parsed and checked as they come.

The form asks every key of `TrainingConfig` in `TrainingConfig.keys()` order, showing what the
key does, its allowed values and its default (Enter keeps it).  Each answer is checked at once
for that key on its own (type and range); the rules between keys (``initial_population <=
max_population`` ...) are checked once every key has an answer, and the keys involved are asked
again.  Input and output are two callables, so the logic runs without a terminal:
``ask(label) -> str`` raises `EOFError` (or anything else) to abort; ``say(text)`` prints.
"""
from __future__ import annotations

import json
import re
import textwrap
from typing import Any, Callable, Mapping

import attrs

from gymnasium import spaces

from ezspark.envs import flat_size
from ezspark.evaluation.envs import EnvError, make_env
from ezspark.config.training import ConfigError, TrainingConfig, show

__all__ = ["FORM_ENV", "FALLBACK_SIZES", "describe", "parse_answer", "key_problems",
           "env_sizes", "form_defaults", "run_form", "docs_example_dict", "render_default"]

#: The environment the form proposes (the docs example's CartPole-v0 is deprecated).
FORM_ENV = "CartPole-v1"
#: input_size and output_size proposed when the environment cannot be made.
FALLBACK_SIZES = (4, 2)

_FIELDS = attrs.fields_dict(TrainingConfig)
_WIDTH = 88

Ask = Callable[[str], str]
Say = Callable[[str], None]


def render_default(value: Any) -> str:
    """A value as the form shows it: strings bare, everything else in JSON spelling."""
    return value if isinstance(value, str) else show(value)


def describe(key: str, default: Any, position: str = "") -> str:
    """The lines shown before the question for ``key``: name, meaning, allowed values."""
    md = _FIELDS[key].metadata
    title = f"{position} {key}".strip()
    if md["ext"]:
        title += " (ezspark extension)"
    lines = [title, textwrap.fill(md["help"], _WIDTH, initial_indent="  ",
                                  subsequent_indent="  ")]
    lines.append(f"  allowed: {md['allowed']}; default: {render_default(default)}")
    return "\n".join(lines)


def parse_answer(key: str, text: str, default: Any) -> Any:
    """The value an answer stands for: empty keeps ``default``; otherwise JSON-ish.

    Numbers, ``true``/``false`` and ``null`` are read as JSON (case-insensitively for the three
    words); the string key takes bare text as it is (or a JSON string in quotes).  Text that is
    none of these is returned unchanged, so that `key_problems` reports it.
    """
    text = text.strip()
    if not text:
        return default
    if text.lower() in ("null", "none"):
        return None
    if _FIELDS[key].metadata["kind"] == "string":
        if text.startswith('"'):
            try:
                return json.loads(text)
            except ValueError:
                return text
        return text
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return json.loads(text, parse_constant=float)
    except (ValueError, RecursionError):  # not JSON, or an int of more than 4300 digits
        return text


def key_problems(key: str, value: Any, values: Mapping[str, Any] | None = None) -> list[str]:
    """What is wrong with ``value`` for ``key``: messages of the problems naming this key.

    With ``values`` (an answer for every key), the candidate configuration is ``values`` with
    this answer, so the rules between keys count.  Without, the key is checked on its own: every
    other key is null, and since the configuration checks a rule between two keys only when
    both are valid on their own, only this key's own type and range remain.
    """
    candidate = dict.fromkeys(_FIELDS) if values is None else dict(values)
    candidate[key] = value
    try:
        TrainingConfig(**candidate)
    except ConfigError as err:
        return [problem.message for problem in err.problems if problem.key == key]
    return []


def env_sizes(env_id: Any) -> tuple[int, int] | None:
    """(flattened observation size, number of discrete actions) of a gymnasium id, or None."""


    if not isinstance(env_id, str) or not env_id.strip():
        return None
    try:
        env = make_env(env_id)
    except EnvError:
        return None
    try:
        obs_size = flat_size(env.observation_space)
        actions = env.action_space
    finally:
        env.close()
    if obs_size is None or not isinstance(actions, spaces.Discrete):
        return None
    return obs_size, int(actions.n)


def form_defaults() -> dict[str, Any]:
    """The value the form proposes for each key before any answer."""
    defaults = {name: field.default for name, field in _FIELDS.items()}
    defaults["gym_game_name"] = FORM_ENV
    defaults["input_size"], defaults["output_size"] = FALLBACK_SIZES
    return defaults


def docs_example_dict() -> dict[str, Any]:
    """The docs example ("Create a Training") as a dict: its 29 keys and values, spelled as
    the docs spell them (``3`` and ``0``, not ``3.0`` and ``0.0``)."""
    config = TrainingConfig.docs_example()
    example = {}
    for name, field in _FIELDS.items():
        if field.metadata["ext"]:
            continue
        value = getattr(config, name)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        example[name] = value
    return example


def _ask_key(key: str, values: dict[str, Any], ask: Ask, say: Say, position: str = "") -> None:
    """Ask ``key`` until the answer is valid for the key on its own; store it in ``values``."""
    say("")
    say(describe(key, values[key], position))
    while True:
        value = parse_answer(key, ask(f"{key} [{render_default(values[key])}]"), values[key])
        messages = key_problems(key, value)
        if not messages:
            values[key] = value
            return
        for message in messages:
            say(f"  invalid: {message}")


def _sizes_for(env_id: Any, say: Say) -> tuple[int, int]:
    sizes = env_sizes(env_id)
    if sizes is None:
        if env_id is not None:
            say(f"  (could not read the spaces of {env_id!r}; proposing input_size "
                f"{FALLBACK_SIZES[0]} and output_size {FALLBACK_SIZES[1]})")
        return FALLBACK_SIZES
    return sizes


def _keys_named(message: str, exclude: str) -> list[str]:
    return [name for name in _FIELDS
            if name != exclude and re.search(rf"\b{re.escape(name)}\b", message)]


def run_form(ask: Ask, say: Say, values: dict[str, Any] | None = None) -> TrainingConfig:
    """Ask every key in turn, then again the keys of any broken rule between keys.

    A broken rule re-asks both keys it names (Enter keeps an answer), until the rules hold.
    """
    values = form_defaults() if values is None else dict(values)
    keys = TrainingConfig.keys()
    say("Answer each question; Enter keeps the default shown in brackets.")
    for index, key in enumerate(keys, 1):
        _ask_key(key, values, ask, say, position=f"[{index}/{len(keys)}]")
        if key == "gym_game_name":
            values["input_size"], values["output_size"] = _sizes_for(values[key], say)
    while True:
        try:
            config = TrainingConfig(**values)
        except ConfigError as err:
            problems = err.problems
        else:
            _note_env_sizes(config, say)
            return config
        say("")
        say("Some answers do not fit together:")
        for problem in problems:
            say(f"  {problem}")
        again = {}
        for problem in problems:
            again.update(dict.fromkeys([problem.key, *_keys_named(problem.message, problem.key)]))
        for key in again:
            if key is not None:
                _ask_key(key, values, ask, say)


def _note_env_sizes(config: TrainingConfig, say: Say) -> None:
    sizes = env_sizes(config.gym_game_name)
    if sizes is not None and sizes != (config.input_size, config.output_size):
        say(f"\nNote: {config.gym_game_name} has {sizes[0]} observation values and {sizes[1]} "
            f"actions, but input_size is {config.input_size} and output_size is "
            f"{config.output_size}; training will refuse this configuration.")
