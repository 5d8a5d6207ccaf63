"""The training configuration: the EzSpark training JSON as a frozen, validated value
(docs/algorithm.md section 2).

Every key is one attrs field whose metadata describes it, so the docs reference and the
interactive ``init`` form are generated from this module:

``kind``
    ``"int"``, ``"real"``, ``"bool_int"`` (0/1, false/true), ``"bool"`` (false/true only),
    ``"string"``, ``"int_or_null"`` or ``"real_or_null"``.
``range``
    The allowed range as short text (``">= 1"``, ``"[0, 1]"``, ``"(0, 1]"``, ...).
``allowed``
    Kind and range as one phrase, as error messages quote it (``"integer >= 1"``).
``help``
    One sentence on what the key does.
``ext``
    True for ezspark's extension keys, which are not part of EzSpark.
``required``
    True for the keys without a default (``input_size``, ``output_size``).
``min``, ``max``, ``min_exclusive``
    Numeric bounds of the key on its own (None when unbounded; integer keys never exceed
    2**63 - 1, `INT_LIMIT`); the cross-key rules come on top.

Converters never raise; ``__attrs_post_init__`` then checks every key and every cross-key rule
and raises one `ConfigError` listing all problems. ``attrs.evolve`` runs the same checks.
JSON parsing lives in ``ezspark/config/serialize.py``; the class methods that mention JSON only delegate.
"""
from __future__ import annotations

import enum
import json
import math
import numbers
import os
from typing import Any, Iterable, Mapping

import attrs

__all__ = ["TrainingConfig", "ConfigError", "Problem", "INT_LIMIT", "show"]

# Every integer key fits an int64 (arrays, HDF5 attributes), so 10**400 is out of range too.
INT_LIMIT = 2**63 - 1

# Keys the docs example sets beyond the defaults (docs/algorithm.md 2.2: they have no default).
_DOCS_EXAMPLE_ENV = {"gym_game_name": "CartPole-v0", "input_size": 4, "output_size": 2}


class _Missing(enum.Enum):
    """Default of the required keys, so that validation reports them, not attrs' TypeError."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


_MISSING = _Missing.MISSING


@attrs.frozen
class Problem:
    """One thing wrong with a configuration.

    ``key`` is None when no single key is at fault (invalid JSON, a missing file).
    """

    key: str | None
    value: Any
    message: str

    @property
    def shown_key(self) -> str | None:
        """The key as printed: plain when it is a simple name, else as a JSON string (so a
        key with spaces, quotes or control characters cannot break a message line)."""
        if self.key is None:
            return None
        key = str(self.key)
        if key and key.isprintable() and not any(c in key for c in ' "\\:'):
            return key
        return json.dumps(key)

    def __str__(self) -> str:
        return self.message if self.key is None else f"{self.shown_key}: {self.message}"


class ConfigError(ValueError):
    """An invalid configuration: ``problems`` lists every fault, ``str()`` gives one per line.

    ``ConfigError("text")`` is shorthand for one problem that belongs to no key.
    """

    def __init__(self, problems: Iterable[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(None, None, problems)]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)

    def __reduce__(self):
        return (type(self), (self.problems,))


def show(value: Any) -> str:
    """Render a given value for a message, in JSON spelling (``true``, ``null``, ``"x"``)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real) and not isinstance(value, float):
        try:
            value = float(value)
        except (OverflowError, ValueError):
            pass
    if isinstance(value, int):
        # Python refuses str() beyond 4300 digits; no key accepts anything near this size.
        return "a number with more than 40 digits" if abs(value) >= 10**40 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


# --- converters: normalise what is unambiguous, never raise ------------------------------------

def _to_int(value: Any) -> Any:
    """3.0 -> 3 and numpy integers -> int; anything else is left for validation to report."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        try:
            as_float = float(value)
            return int(as_float) if as_float.is_integer() else value
        except (OverflowError, ValueError):
            return value
    return value


def _to_bool_int(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return _to_int(value)


def _to_float(value: Any) -> Any:
    """Numbers (not bools) -> float; an int too large for a float stays an int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    try:
        return float(value)
    except OverflowError:
        return value


_CONVERTERS = {
    "int": _to_int,
    "int_or_null": _to_int,
    "bool_int": _to_bool_int,
    "real": _to_float,
    "real_or_null": _to_float,
    "string": None,
    "bool": None,
}
_NOUNS = {"int": "integer", "int_or_null": "integer", "real": "number", "real_or_null": "number",
          "string": "string"}
_ARTICLES = {"int": "an integer", "bool_int": "an integer", "real": "a number",
             "string": "a string", "bool": "a boolean"}


def _allowed(kind: str, range_text: str, nullable: bool) -> str:
    if kind == "bool_int":
        return "0, 1, false or true"
    if kind == "bool":
        return "false or true"
    noun = _NOUNS[kind]
    if range_text in ("finite", "non-empty"):
        text = f"{range_text} {noun}"
    elif range_text.startswith(("[", "(")):
        text = f"{noun} in {range_text}"
    else:
        text = f"{noun} {range_text}"
    return f"{text} or null" if nullable else text


def _key(kind: str, default: Any, range_text: str, help_text: str, *, min: float | None = None,
         max: float | None = None, min_exclusive: bool = False, ext: bool = False) -> Any:
    """One configuration key as an attrs field, described by its metadata (module docstring)."""
    if kind in ("int", "int_or_null", "bool_int") and max is None:
        max = INT_LIMIT
    metadata = {
        "kind": kind,
        "range": range_text,
        "allowed": _allowed(kind, range_text, nullable=default is None),
        "help": help_text,
        "ext": ext,
        "required": default is _MISSING,
        "min": min,
        "max": max,
        "min_exclusive": min_exclusive,
    }
    return attrs.field(default=default, converter=_CONVERTERS[kind], metadata=metadata)


def _rate(default: float, help_text: str) -> Any:
    return _key("real", default, "[0, 1]", help_text, min=0.0, max=1.0)


# --- validation ----------------------------------------------------------------------------------

def _key_problem(field: attrs.Attribute, value: Any) -> str | None:
    """The message for what is wrong with one key's value on its own, or None."""
    md = field.metadata
    fault = _fault(md, field.default, value)
    if fault is None:
        return None
    allowed = md["allowed"]
    unstated_cap = md["max"] == INT_LIMIT and "2**63" not in allowed
    if fault.endswith("out of range") and unstated_cap and value > INT_LIMIT:
        allowed += ", at most 2**63 - 1"
    return f"{fault} (allowed: {allowed})"


def _fault(md: Mapping[str, Any], default: Any, value: Any) -> str | None:
    kind = md["kind"]
    if value is _MISSING:
        return "missing required key"
    if value is None:
        if default is None:
            return None
        if md["required"]:
            return "null given, but this key is required and has no default"
        return f"null is not {_ARTICLES[kind]}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"{show(value)} is not false or true"
    if kind == "string":
        if not isinstance(value, str):
            return f"{show(value)} is not a string"
        return None if value.strip() else f"{show(value)} is empty"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{show(value)} is not a finite number"
    if kind in ("real", "real_or_null"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{show(value)} is not a number"
        if isinstance(value, int):  # the converter could not make it a float: too large
            return f"{show(value)} is out of range"
    elif isinstance(value, bool) or not isinstance(value, int):
        return f"{show(value)} is not an integer"
    low, high = md["min"], md["max"]
    below = low is not None and (value < low or (md["min_exclusive"] and value == low))
    above = high is not None and value > high
    return f"{show(value)} is out of range" if below or above else None


# (key, bound key, relation): the key's value must stand in the relation to the bound's value.
_CROSS_RULES = (
    ("initial_population", "max_population", "at most"),
    ("min_population", "max_population", "at most"),
    ("limiting_threshold", "limiting_species", "less than"),
    ("sub_games", "max_number_of_games", "at most"),
)


def _problems(config: TrainingConfig) -> list[Problem]:
    problems = []
    for field in attrs.fields(type(config)):
        value = getattr(config, field.name)
        message = _key_problem(field, value)
        if message is not None:
            problems.append(Problem(field.name, None if value is _MISSING else value, message))
    faulty = {problem.key for problem in problems}
    for key, bound_key, relation in _CROSS_RULES:
        value, bound = getattr(config, key), getattr(config, bound_key)
        if key in faulty or bound_key in faulty or value is None:
            continue
        if value > bound if relation == "at most" else value >= bound:
            message = f"{show(value)} must be {relation} {bound_key} ({show(bound)})"
            problems.append(Problem(key, value, message))
    # a self-loop is a cycle: only recurrent networks can have one
    if config.initial_self_loops is True and config.recurrent is False:
        problems.append(Problem("initial_self_loops", True,
                                "true needs recurrent true (a self-loop is a cycle, and "
                                "feed-forward networks have none)"))
    order = {name: index for index, name in enumerate(config.keys())}
    return sorted(problems, key=lambda problem: order[problem.key])


# --- the configuration ---------------------------------------------------------------------------

@attrs.frozen(kw_only=True)
class TrainingConfig:
    """Every key of an EzSpark training JSON, plus ezspark's extension keys (docs/algorithm.md 2.2).

    Build one with keywords (``TrainingConfig(gym_game_name="CartPole-v1", input_size=4,
    output_size=2)``), from JSON or a mapping (`from_json`, `from_dict`), and variants with
    ``attrs.evolve(config, children=2)``. Invalid values raise one `ConfigError` listing every
    problem.
    """

    gym_game_name: str | None = _key(
        "string", None, "non-empty",
        "Gymnasium environment id to train on, as passed to gymnasium.make (the "
        "'module:EnvName' form works); it may be left out when a fitness function replaces "
        "the environment.")
    alone_training_iterations: int = _key(
        "int", 60, ">= 0",
        "Number of first generations evaluated on this machine only; remote workers may join "
        "from then on (local runs ignore it).", min=0)
    input_size: int = _key(
        "int", _MISSING, ">= 1",
        "Number of input nodes; it must equal the flattened size of one observation.", min=1)
    output_size: int = _key(
        "int", _MISSING, ">= 1",
        "Number of output nodes; it must equal the number of discrete actions.", min=1)
    initial_population: int = _key(
        "int", 100, "[1, max_population]",
        "Number of genomes in generation 0; later sizes follow from reproduction.", min=1)
    species_threshold: float = _key(
        "real", 3.0, ">= 0",
        "Compatibility distance below which a genome joins a species; a higher value gives "
        "fewer, larger species.", min=0.0)
    generations: int = _key(
        "int", 600000, ">= 1",
        "Number of generations to evaluate; the last one is stored but not reproduced.", min=1)
    percentage_survivors_per_specie: float = _key(
        "real", 0.3, "(0, 1]",
        "Fraction of each species, its best members, that parent the species' offspring; it "
        "does not set how many offspring there are.", min=0.0, max=1.0, min_exclusive=True)
    connection_mutation_rate: float = _rate(
        0.8, "Probability, per connection of a mutated genome, that its weight changes; 0 turns "
        "weight mutation off.")
    new_connection_assignment_rate: float = _rate(
        0.1, "Probability that a weight change draws a fresh weight from U(-5, 5) instead of "
        "adding N(0, 1) noise; it rises while the run stalls (see same_fitness_limit).")
    add_connection_big_specie_rate: float = _rate(
        0.3, "Probability that an offspring of a big species (at least the mean species size) "
        "gets a new connection.")
    add_connection_small_specie_rate: float = _rate(
        0.03, "Probability that an offspring of a small species (below the mean species size) "
        "gets a new connection.")
    add_node_specie_rate: float = _rate(
        0.05, "Probability that an offspring gets a new hidden node by splitting a connection, "
        "whatever the size of its species.")
    activate_connection_rate: float = _rate(
        0.25, "Probability, per disabled connection of an offspring, that the connection is "
        "enabled again.")
    remove_connection_rate: float = _rate(
        0.01, "Probability that an offspring which got no new connection has one enabled "
        "connection disabled; stagnating species swap it with the add-connection rate.")
    children: int = _key(
        "int", 1, ">= 1",
        "Multiplier of every species' offspring quota.", min=1)
    crossover_rate: float = _rate(
        0.1, "Probability, per pair of champions in the parent pool, of one extra child made "
        "by crossover; 0 turns crossover off.")
    saving: int = _key(
        "int", 1, ">= 1",
        "The champion is stored every this many generations, and always at the last one.",
        min=1)
    keep_parents: int = _key(
        "bool_int", 1, "0 or 1",
        "With 1 (true), unmutated copies of the parent pool join the next generation; with 0 "
        "(false) only their offspring do.", min=0, max=1)
    limiting_species: int = _key(
        "int", 15, ">= 1",
        "A species whose best fitness has not improved for this many generations is culled "
        "(at least 10 species, and the champion's, always survive).", min=1)
    limiting_threshold: int = _key(
        "int", 5, ">= 0, < limiting_species",
        "A species that has not improved for limiting_species minus this many generations "
        "swaps its add- and remove-connection rates to simplify its genomes.", min=0)
    max_population: int = _key(
        "int", 20000, ">= 1, >= initial_population",
        "Upper bound on the number of genomes in every generation; the lowest-priority genomes "
        "are cut.", min=1)
    same_fitness_limit: int = _key(
        "int", 10, ">= 1",
        "After this many generations in a row without a new best fitness, the weight "
        "replacement rate rises by 0.03 (up to 0.97); a new best resets it.", min=1)
    age_significance: float = _rate(
        0.3, "How strongly young species are favoured when offspring are shared out among "
        "species; 0 ignores species age.")
    max_number_of_games: int = _key(
        "int", 5, ">= 1",
        "Episodes each genome plays per generation; its fitness is the mean return per "
        "episode.", min=1)
    max_number_of_steps: int = _key(
        "int", 200, ">= 1", "Maximum number of steps in one episode.", min=1)
    safeness: float = _rate(
        0.5, "Probability that a batch evaluated by a remote worker is evaluated again by "
        "another worker and the results compared (local runs ignore it).")
    sub_games: int = _key(
        "int", 1, "[1, max_number_of_games]",
        "Number of environment copies one genome plays in lockstep; it changes speed only, "
        "never fitness.", min=1)
    minimum_reward: float = _key(
        "real", 0.0, "finite",
        "The smallest reward one environment step can give, as declared by the user; steps "
        "below it are counted and reported, and fitness never changes.")
    seed: int | None = _key(
        "int_or_null", None, "[0, 2**63 - 1]",
        "Run seed for every random stream and episode seed; null draws one from the operating "
        "system, and the run records it.", min=0, max=INT_LIMIT, ext=True)
    fitness_threshold: float | None = _key(
        "real_or_null", None, "finite",
        "The run stops after the first generation whose best fitness reaches this value; null "
        "runs every generation.", ext=True)
    min_population: int | None = _key(
        "int_or_null", None, "[1, max_population]",
        "Lower bound on the size of every generation after generation 0, reached by raising "
        "species quotas; null lets the number of species decide.", min=1, ext=True)
    genomes_per_task: int = _key(
        "int", 100, ">= 1",
        "Number of genomes in each batch handed to one remote worker (local runs ignore it).",
        min=1, ext=True)
    target_species: int | None = _key(
        "int_or_null", None, ">= 1",
        "Number of species the run aims at: from species_threshold on, the threshold is "
        "multiplied after each speciation by 1 + 0.3 times the relative miss "
        "(S - target) / target (at most 1), a generation whose count falls outside "
        "target/2 to 3·target/2 searches its threshold again, and distances are normalised "
        "by gene count; null keeps EzSpark's fixed threshold.",
        min=1, ext=True)
    validation_games: int = _key(
        "int", 20, ">= 0",
        "Fresh episodes each stored champion plays after its generation, from a seed stream "
        "training never uses; their mean return is its validation score, which picks the "
        "champion a run hands out and never feeds back into evolution; 0 validates nothing "
        "and hands out the newest champion.", min=0, ext=True)
    recurrent: bool = _key(
        "bool", False, "false or true",
        "With true, add-connection may also create cycles and self-loops (outputs become "
        "sources too), and a connection that closes a cycle reads its source's value of the "
        "previous step, so networks have memory within an episode; false keeps acyclic "
        "feed-forward networks.", ext=True)
    weight_change_scale: float = _key(
        "real", 1.0, "> 0",
        "Standard deviation of the normal change a mutating weight receives (w + scale·N(0, 1)); "
        "1 is EzSpark's N(0, 1), smaller values fine-tune.", min=0.0, min_exclusive=True,
        ext=True)
    bias_input: bool = _key(
        "bool", False, "false or true",
        "With true, every network gets one more input after the observation's, whose value "
        "is always 0.5 (NEAT's bias unit): genomes have input_size + 1 inputs, and the new "
        "one, like the others, starts connected to every output; false gives networks no "
        "bias, as EzSpark.", ext=True)
    initial_self_loops: bool = _key(
        "bool", False, "false or true",
        "With true (needs recurrent true), every genome of generation 0 also has a "
        "self-loop on each output, so the first networks already remember their last "
        "output; false starts from the input-to-output connections only, as EzSpark.",
        ext=True)
    trusted_after: int | None = _key(
        "int_or_null", None, ">= 1",
        "Adaptive verification: a remote worker's batches are checked with probability "
        "safeness until this many of its batches were confirmed by another evaluation, then "
        "with probability 1/n (at most safeness, never below safeness_floor) for a worker "
        "with n confirmed batches; null checks every remote batch with probability "
        "safeness (local runs ignore it).", min=1, ext=True)
    safeness_floor: float = _key(
        "real", 0.05, "[0, 1]",
        "With trusted_after set: the lowest checking probability of a trusted worker (at "
        "most safeness), and at least one of every ceil(1 / floor) of its batches in a row "
        "is checked; 0 lets the probability fall to 0 (local runs ignore it).",
        min=0.0, max=1.0, ext=True)

    @property
    def network_inputs(self) -> int:
        """Input nodes of every genome: the observation's input_size values, plus the bias
        input with ``bias_input`` (docs/algorithm.md 3.1)."""
        return self.input_size + int(self.bias_input)

    def __attrs_post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ConfigError(problems)

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """Every key name, in docs-example order followed by the extension keys."""
        return tuple(field.name for field in attrs.fields(cls))

    @classmethod
    def docs_example(cls) -> TrainingConfig:
        """The configuration of the example JSON in the EzSpark docs ("Create a Training")."""
        return cls(**_DOCS_EXAMPLE_ENV)

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> TrainingConfig:
        """Read a training JSON from a file path or from JSON text."""
        # cycle: ezspark.config.serialize imports this module
        from ezspark.config.serialize import config_from_json
        return config_from_json(source)

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> TrainingConfig:
        """Build from a mapping of key names to JSON values (null means the default)."""
        # cycle: ezspark.config.serialize imports this module
        from ezspark.config.serialize import config_from_dict
        return config_from_dict(mapping)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of every key, in key order."""
        # cycle: ezspark.config.serialize imports this module
        from ezspark.config.serialize import config_to_dict
        return config_to_dict(self)

    def to_json(self) -> str:
        """Pretty JSON text (indent 2, trailing newline) that `from_json` reads back equal."""
        # cycle: ezspark.config.serialize imports this module
        from ezspark.config.serialize import config_to_json
        return config_to_json(self)

    def check_env_keys(self) -> None:
        """Raise `ConfigError` unless ``gym_game_name`` is set; the trainer calls this when no
        fitness function replaces the environment."""
        if self.gym_game_name is None:
            allowed = attrs.fields(type(self)).gym_game_name.metadata["allowed"]
            message = ("not set; gym_game_name is required when no fitness function is given "
                       f"(allowed: {allowed.removesuffix(' or null')})")
            raise ConfigError([Problem("gym_game_name", None, message)])
