"""``ezspark plot``: the image of real runs, the layout of a hand-made network, and errors."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from click.testing import CliRunner

import ezspark
from ezspark.engine.genome import Genome
from ezspark.cli import cli

from .helpers import X, Y, assert_user_error, xor_fitness  # noqa: F401

pytest.importorskip("matplotlib")
from matplotlib.image import imread  # noqa: E402

from ezspark.cli import plotting as _plotting  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def invoke(*args):
    return CliRunner().invoke(cli, ["plot", *map(str, args)])


def check_png(path, min_width=600, min_height=300):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 20_000                       # curves and a network, not a blank image
    height, width = imread(str(path)).shape[:2]
    assert min_width <= width <= 4000 and min_height <= height <= 4000
    assert width > height                           # landscape: curves beside the network
    return width, height


class TestPlotCommand:
    """``ezspark plot`` on real runs."""

    def test_plot_writes_run_png_next_to_the_run(self, xor_run):
        result = invoke(xor_run)
        assert result.exit_code == 0, result.output
        png = xor_run.with_name("run.png")
        assert result.output.strip() == str(png)
        assert check_png(png) == (1300, 650)            # 13 x 6.5 inches at the default 100 dpi
        # Written atomically: no temporary file is left beside it.
        assert sorted(p.name for p in xor_run.parent.iterdir()) == ["checkpoint.h5", "run.h5", "run.png"]

    def test_plot_accepts_the_run_directory(self, xor_run, tmp_path):
        out = tmp_path / "dir.png"
        result = invoke(xor_run.parent, "-o", out)
        assert result.exit_code == 0, result.output
        check_png(out)

    def test_plot_cartpole_output_and_dpi(self, cartpole_run, tmp_path):
        out = tmp_path / "cartpole.png"
        result = invoke(cartpole_run, "-o", out, "--dpi", 50)
        assert result.exit_code == 0, result.output
        assert result.output.strip() == str(out)
        assert check_png(out, min_width=300, min_height=150) == (650, 325)

    def test_plot_overwrites_an_existing_image(self, cartpole_run, tmp_path):
        out = tmp_path / "again.png"
        out.write_bytes(b"old")
        assert invoke(cartpole_run, "-o", out).exit_code == 0
        check_png(out)

    def test_plot_generation_with_hidden_nodes(self, xor_run, tmp_path):
        run = ezspark.RunFile.open(xor_run)
        with_hidden = [g for g in run.generations if len(run.champion(g).hidden_nodes)]
        assert with_hidden, "the XOR run should grow hidden nodes"
        out = tmp_path / "hidden.png"
        result = invoke(xor_run, "--generation", with_hidden[0], "-o", out)
        assert result.exit_code == 0, result.output
        check_png(out)

    def test_plot_svg_by_suffix(self, cartpole_run, tmp_path):
        out = tmp_path / "net.svg"
        assert invoke(cartpole_run, "-o", out).exit_code == 0
        assert b"<svg" in out.read_bytes()[:1000]

    def test_unknown_image_suffix(self, cartpole_run, tmp_path):
        result = invoke(cartpole_run, "-o", tmp_path / "net.h5")
        assert_user_error(result, "'h5'", "png")

    def test_generation_not_stored(self, cartpole_run):
        assert_user_error(invoke(cartpole_run, "--generation", 999), "generation 999",
                          "stored: 0, 1, 2")

    def test_not_an_hdf5_file(self, tmp_path):
        path = tmp_path / "run.h5"
        path.write_text("not hdf5")
        assert_user_error(invoke(path), "not an HDF5 file")

    def test_missing_file(self, tmp_path):
        assert_user_error(invoke(tmp_path / "nothing.h5"), "nothing.h5")

    def test_unwritable_output(self, cartpole_run, tmp_path):
        assert_user_error(invoke(cartpole_run, "-o", tmp_path / "no" / "dir.png"), "cannot write")

    def test_without_matplotlib(self, cartpole_run, monkeypatch):
        monkeypatch.setitem(sys.modules, "matplotlib", None)     # import matplotlib fails
        result = invoke(cartpole_run)
        assert_user_error(result)
        assert result.output.strip() == 'Error: plot needs matplotlib: pip install "ezspark[plot]"'


# -- layout --------------------------------------------------------------------------------

def genome(*genes):
    """Genes (src, dst, weight, enabled), innovations 1, 2, … in the given order."""
    src, dst, weight, enabled = zip(*genes)
    return Genome(np.arange(1, len(genes) + 1), src, dst, weight, enabled)


class TestNetworkLayout:
    """``network_layout`` and ``node_depths`` on hand-made genomes."""

    def test_hidden_nodes_are_placed_by_longest_enabled_path(self):
        # Inputs 1, 2; output 3; hidden 4 … 8.
        g = genome((1, 4, 1.0, True),        # 4: depth 1
                   (4, 5, 1.0, True),        # 5: depth 2 through 4 …
                   (1, 5, 1.0, True),        # … not 1 by the direct gene: longest path
                   (5, 6, -1.0, True),       # 6: depth 3
                   (6, 3, 1.0, True),
                   (2, 3, 0.5, True),
                   (2, 7, 1.0, False),       # 7: only a disabled gene in -> depth 1
                   (6, 8, 1.0, False),       # 8: a disabled gene from depth 3 does not count …
                   (4, 8, 1.0, True),        # … the enabled one from 4 does: depth 2
                   (7, 3, 1.0, True), (8, 3, 1.0, True))
        assert _plotting.node_depths(g, 2, 1) == {1: 0, 2: 0, 4: 1, 5: 2, 6: 3, 7: 1, 8: 2}
        pos = _plotting.network_layout(g, 2, 1)
        assert set(pos) == {1, 2, 3, 4, 5, 6, 7, 8}
        x = {node: p[0] for node, p in pos.items()}
        y = {node: p[1] for node, p in pos.items()}
        assert x[1] == x[2] == 0.0 and x[3] == 1.0              # inputs left, output right
        assert x[4] == x[7] == 0.25 and x[5] == x[8] == 0.5 and x[6] == 0.75
        assert y[1] > y[2]                                      # input 0 at the top
        assert all(0.0 < v < 1.0 for v in y.values())
        for column in ({4, 7}, {5, 8}):                          # distinct heights in a column
            assert len({y[n] for n in column}) == len(column)
        assert y[4] > y[7]      # 4 hangs from input 0 (top), 7 has no enabled source (middle)

    def test_layout_without_hidden_nodes(self):
        g = genome((1, 4, 1.0, True), (2, 5, -1.0, True), (3, 4, 0.5, False))
        pos = _plotting.network_layout(g, 3, 2)
        assert pos == {1: (0.0, pytest.approx(5 / 6)), 2: (0.0, 0.5),
                       3: (0.0, pytest.approx(1 / 6)), 4: (1.0, 0.75), 5: (1.0, 0.25)}

    def test_crowded_hidden_column_stays_inside_and_apart(self):
        # Six hidden nodes all fed by input 0 want the same height: they are spread apart.
        genes = [(1, 3 + k, 1.0, True) for k in range(1, 7)] + [(3 + k, 3, 1.0, True)
                                                                 for k in range(1, 7)]
        pos = _plotting.network_layout(genome(*genes), 1, 1)
        ys = sorted(pos[n][1] for n in range(4, 10))
        assert 0.0 < ys[0] and ys[-1] < 1.0
        assert min(np.diff(ys)) >= 1 / 6 - 1e-12


def test_run_figure_panels(cartpole_run):
    fig = _plotting.run_figure(ezspark.RunFile.open(cartpole_run), generation=1)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert titles[:2] == ["Fitness", "Species and population"]
    assert titles[2].startswith("Champion of generation 1 (fitness 50)")
