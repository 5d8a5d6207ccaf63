"""docs/configuration.md is the generated reference of every key."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs

from ezspark.config.training import TrainingConfig
from ezspark.config.reference import configuration_reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_docs_file_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == configuration_reference(), (
        "docs/configuration.md is stale; regenerate it with "
        "`python -m ezspark.config.reference > docs/configuration.md`")


def test_every_key_appears_once_as_a_row_in_key_order():
    text = configuration_reference()
    rows = [line.split("|")[1].strip() for line in text.splitlines()
            if line.startswith("| `")]
    assert rows == [f"`{key}`" for key in TrainingConfig.keys()]


def test_every_key_has_help():
    for field in attrs.fields(TrainingConfig):
        assert field.metadata["help"].strip(), field.name
        assert field.metadata["range"].strip(), field.name


def test_sections_and_population_note():
    text = configuration_reference()
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections == ["## EzSpark keys", "## Extension keys", "## Population size"]
    assert "5 genomes" in text and "min_population" in text and "species_threshold" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_main_prints_the_reference():
    proc = subprocess.run([sys.executable, "-m", "ezspark.config.reference"], capture_output=True,
                          text=True, timeout=60, check=True)
    assert proc.stdout == configuration_reference()
