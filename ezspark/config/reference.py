"""The Markdown reference of every configuration key, rendered from `TrainingConfig`'s metadata.

``docs/configuration.md`` is this module's output; regenerate it after changing a key with::

    python -m ezspark.config.reference > docs/configuration.md
"""
from __future__ import annotations

import sys

import attrs

from ezspark.config.training import TrainingConfig, show

__all__ = ["configuration_reference"]

_TYPES = {"int": "integer", "real": "number", "bool_int": "integer or boolean",
          "string": "string", "int_or_null": "integer or null", "real_or_null": "number or null",
          "bool": "boolean"}

_INTRO = """\
# Configuration reference

<!-- Generated from ezspark/config/training.py by `python -m ezspark.config.reference > docs/configuration.md`;
     edit the key metadata there, not this file. -->

A training is described by one JSON object, the EzSpark training JSON: the 29 keys of the
example in the EzSpark docs ("Create a Training"), plus the extension keys that ezspark adds. A key
that is left out, or set to `null`, takes its default; `input_size` and `output_size` have
none, and `gym_game_name` is needed unless a fitness function replaces the environment.
Integer keys accept a number without a fractional part (`3.0` is 3, `2.5` is refused);
`true` and `false` are numbers only for `keep_parents`; NaN and infinities are refused
everywhere. A range that names another key is checked against that key's value. Unknown and
duplicate keys are errors. `ezspark validate CONFIG.json` reports every problem of a file at
once, and `ezspark init --all` asks for each key in turn, with the explanations below.
"""

_EXT_INTRO = """\
Keys that ezspark adds; EzSpark does not know them. Their defaults keep EzSpark's behaviour.
"""

_POPULATION = """\
## Population size

`initial_population` sets the size of generation 0 only. From then on, each species gets a
share of the offspring of about 2.5 to 3.5 times `children`, so without `min_population` the
size of a generation follows the number of species, not `initial_population`, and
`max_population` only caps it. With the docs values, generation 0 forms a single species
(its genomes differ only in their weights, which are never far enough apart to cross
`species_threshold` 3), so generation 1 has only 5 genomes, and generations stay that small
until the species split. Such a run needs few evaluations per generation but many
generations, and leaves little work to spread over processes or machines. For larger
generations, lower `species_threshold` (more species) or set `min_population` (a floor on
every generation after generation 0, for example 100).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(field: attrs.Attribute, example: TrainingConfig) -> str:
    md = field.metadata
    docs_value = getattr(example, field.name)
    if md["required"]:
        return f"required (docs example: `{show(docs_value)}`)"
    text = f"`{show(field.default)}`"
    if docs_value != field.default:
        text += f" (docs example: `{show(docs_value)}`)"
    return text


def _type(field: attrs.Attribute) -> str:
    kind = field.metadata["kind"]
    text = _TYPES[kind]
    if field.default is None and not kind.endswith("_or_null"):
        text += " or null"
    return text


def _table(fields: list[attrs.Attribute], example: TrainingConfig) -> str:
    rows = ["| key | type | allowed | default | meaning |", "|---|---|---|---|---|"]
    for field in fields:
        md = field.metadata
        cells = [f"`{field.name}`", _type(field), md["range"], _default(field, example),
                 md["help"]]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def configuration_reference() -> str:
    """Markdown: an introduction, one table per group of keys, and a note on population size."""
    fields = attrs.fields(TrainingConfig)
    example = TrainingConfig.docs_example()
    ezspark_keys = [field for field in fields if not field.metadata["ext"]]
    ext_keys = [field for field in fields if field.metadata["ext"]]
    parts = [
        _INTRO,
        "## EzSpark keys\n",
        "In the order of the docs example.\n",
        _table(ezspark_keys, example),
        "## Extension keys\n",
        _EXT_INTRO,
        _table(ext_keys, example),
        _POPULATION,
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(configuration_reference())
