"""The questions of ``ezspark init``: answers parsed and checked as they come.

The environment comes first; what it says about itself becomes the proposed answer of the keys
it decides: ``input_size`` and ``output_size`` from its spaces, ``max_number_of_steps`` from its
time limit, ``fitness_threshold`` from its "solved" return.  The short form (the default) then
asks only what a first run needs (`SHORT_KEYS`) and keeps the documented value of every other
key but those of `FORM_LEARNING`, proposed because they learn better; the full form asks every
key in `TrainingConfig.keys()` order.  Each question shows what the key does, its allowed
values and its default (Enter keeps it).

Each answer is checked at once: for that key on its own (type and range) and against the
environment (an environment ezspark cannot train here, a size its spaces contradict); a wrong
answer is asked again with a one-line reason.  The rules between keys (``initial_population <=
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

from ezspark.envs import EnvSupport, env_support
from ezspark.config.training import ConfigError, TrainingConfig, show

__all__ = ["FORM_ENV", "FALLBACK_SIZES", "FORM_GENERATIONS", "FORM_LEARNING", "SHORT_KEYS",
           "describe", "parse_answer", "key_problems", "size_problems", "form_defaults", "run_form",
           "docs_example_dict", "render_default"]

#: The environment the form proposes (the docs example's CartPole-v0 is deprecated).
FORM_ENV = "CartPole-v1"
#: input_size and output_size proposed when the environment does not tell.
FALLBACK_SIZES = (4, 2)
#: generations proposed: a first run that ends within minutes, not the docs' 600000.
FORM_GENERATIONS = 100
#: Proposed instead of the docs values, because they learn better (docs/decisions.md,
#: "Examples that learn"): 150 genomes, never fewer (min_population follows
#: initial_population in the short form), and no rise of the weight-replacement rate while a
#: noisy best stalls (same_fitness_limit out of reach).
FORM_LEARNING = {"initial_population": 150, "min_population": 150,
                 "same_fitness_limit": 1_000_000}
#: What the short form asks: the environment, population, generations, games and steps.
SHORT_KEYS = ("gym_game_name", "initial_population", "generations", "max_number_of_games",
              "max_number_of_steps")

_FIELDS = attrs.fields_dict(TrainingConfig)
_WIDTH = 88
_ENVS_HINT = "'ezspark envs' lists the environments ezspark can train here"

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


def size_problems(key: str, value: Any, support: EnvSupport | None) -> list[str]:
    """What the environment's spaces say is wrong with ``value`` for input_size or output_size."""
    if support is None:
        return []
    if key == "input_size" and support.observation_size not in (None, value):
        return [f"observations of {support.env_id} have {support.observation_size} values, "
                f"so input_size must be {support.observation_size}"]
    if key == "output_size" and support.actions not in (None, value):
        kind = "continuous action values" if support.continuous else "actions"
        return [f"{support.env_id} has {support.actions} {kind}, so output_size must be "
                f"{support.actions}"]
    return []


def form_defaults() -> dict[str, Any]:
    """The value the form proposes for each key before any answer."""
    defaults = {name: field.default for name, field in _FIELDS.items()}
    defaults["gym_game_name"] = FORM_ENV
    defaults["input_size"], defaults["output_size"] = FALLBACK_SIZES
    defaults["generations"] = FORM_GENERATIONS
    defaults.update(FORM_LEARNING)
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


class _Environment:
    """What the form knows of the chosen environment, and the checks that follow from it.

    ``strict`` False (``ezspark init --force``) keeps an environment that cannot be trained
    here, with a note: it may be installed where the run will train.
    """

    def __init__(self, strict: bool):
        self.strict = strict
        self.support: EnvSupport | None = None

    def problems(self, key: str, value: Any) -> list[str]:
        """Problems with the answer ``value`` for ``key`` that come from the environment."""
        if key != "gym_game_name":
            return size_problems(key, value, self.support)
        self.support = None if value is None else env_support(value)
        if self.support is None or self.support.trainable or not self.strict:
            return []
        return [f"ezspark cannot train {value} here: {self.support.reason} ({_ENVS_HINT}; "
                "--force keeps such an answer)"]

    def sizes_known(self) -> bool:
        return self.support is not None and None not in (self.support.observation_size,
                                                         self.support.actions)

    def propose(self, values: dict[str, Any], say: Say) -> None:
        """Make what the environment tells the proposed answer of the keys it decides."""
        support = self.support
        if support is None:
            return
        if not support.trainable:
            say(f"  note: ezspark cannot train {support.env_id} here: {support.reason}; "
                "kept because of --force")
        told = {"input_size": support.observation_size, "output_size": support.actions,
                "max_number_of_steps": support.max_episode_steps,
                "fitness_threshold": support.reward_threshold}
        told = {key: value for key, value in told.items() if value is not None}
        values.update(told)
        if told:
            say(f"  from {support.env_id}: " + ", ".join(
                f"{key} {render_default(value)}" for key, value in told.items()))


    def drop_unreachable_threshold(self, values: dict[str, Any], say: Say) -> None:
        """Episodes cut shorter than the environment's own may never reach its "solved"
        return, so the proposed ``fitness_threshold`` is left out then (the short form never
        asks it; a run that cannot reach it would quietly use all its generations)."""
        support = self.support
        if (support is None or support.reward_threshold is None
                or support.max_episode_steps is None
                or values["fitness_threshold"] != support.reward_threshold
                or values["max_number_of_steps"] >= support.max_episode_steps):
            return
        values["fitness_threshold"] = None
        say(f"  note: fitness_threshold left out: episodes of {values['max_number_of_steps']} "
            f"steps may never reach {support.env_id}'s solved return "
            f"{render_default(support.reward_threshold)} (its episodes last "
            f"{support.max_episode_steps} steps); the run uses all its generations")


def _ask_key(key: str, values: dict[str, Any], ask: Ask, say: Say, env: _Environment,
             position: str = "") -> None:
    """Ask ``key`` until the answer is valid on its own and for the environment; store it."""
    say("")
    say(describe(key, values[key], position))
    while True:
        value = parse_answer(key, ask(f"{key} [{render_default(values[key])}]"), values[key])
        messages = key_problems(key, value) or env.problems(key, value)
        if not messages:
            values[key] = value
            return
        for message in messages:
            say(f"  invalid: {message}")


def _keys_named(message: str, exclude: str) -> list[str]:
    return [name for name in _FIELDS
            if name != exclude and re.search(rf"\b{re.escape(name)}\b", message)]


def _questions(full: bool, env: _Environment) -> list[str]:
    """The keys asked after the environment: every key, or the short form's (with the sizes
    when the environment does not tell them)."""
    if full:
        return list(TrainingConfig.keys()[1:])
    sizes = [] if env.sizes_known() else ["input_size", "output_size"]
    return sizes + list(SHORT_KEYS[1:])


def run_form(ask: Ask, say: Say, *, full: bool = False, strict: bool = True,
             values: dict[str, Any] | None = None) -> TrainingConfig:
    """Ask the environment, then the short form's keys (every key with ``full``), then again
    the keys of any broken rule between keys (Enter keeps an answer), until the rules hold.

    ``strict`` False keeps an environment that cannot be trained here (``init --force``).
    """
    values = form_defaults() if values is None else dict(values)
    env = _Environment(strict)
    count = len(TrainingConfig.keys()) if full else len(SHORT_KEYS)
    say("Answer each question; Enter keeps the default shown in brackets.")
    if not full:
        say(f"The {count} questions of a first run; every other key keeps its documented value "
            "('ezspark init --all' asks every key).")
    _ask_key("gym_game_name", values, ask, say, env, position=f"[1/{count}]")
    env.propose(values, say)
    questions = _questions(full, env)
    if len(questions) >= count:
        say("  (the environment does not tell input_size and output_size here: two more "
            "questions)")
    for index, key in enumerate(questions, 2):
        _ask_key(key, values, ask, say, env, position=f"[{index}/{len(questions) + 1}]")
    if not full:
        env.drop_unreachable_threshold(values, say)
        values["min_population"] = values["initial_population"]   # the floor follows it
    while True:
        try:
            return TrainingConfig(**values)
        except ConfigError as err:
            problems = err.problems
        say("")
        say("Some answers do not fit together:")
        for problem in problems:
            say(f"  {problem}")
        again = {}
        for problem in problems:
            again.update(dict.fromkeys([problem.key, *_keys_named(problem.message, problem.key)]))
        for key in again:
            if key is not None:
                _ask_key(key, values, ask, say, env)
