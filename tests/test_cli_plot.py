"""``ezspark plot``: the image of real runs, the layout of a hand-made network, and errors."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from click.testing import CliRunner

import ezspark
from ezspark.engine.genome import Genome
from ezspark.network.champion import Champion
from ezspark.network.programs import compile_programs, delayed_genes
from ezspark.store.champions import ChampionTable
from ezspark.cli import cli

from .helpers import assert_user_error

pytest.importorskip("matplotlib")
from matplotlib.axis import Axis  # noqa: E402
from matplotlib.collections import Collection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import imread  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402
from matplotlib.spines import Spine  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

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


class TestRecurrentNetworks:
    """Delayed genes (docs/algorithm.md 3.4) are found as the compiler finds them, do not
    count for depth, and are drawn dashed; a self-loop is drawn as a loop on its node."""

    # Inputs 1, 2; output 3; hidden 4, 5.
    GENES = ((1, 4, 1.0, True),      # from an input: never delayed
             (4, 5, 1.0, True),
             (5, 4, -1.0, True),     # 4 already reaches 5: closes a cycle, delayed
             (5, 3, 1.0, True),
             (3, 3, 0.5, True),      # self-loop: delayed
             (3, 4, 1.0, True),      # 4 reaches 3 through 5: delayed
             (2, 5, 1.0, False),     # disabled: never delayed
             (2, 3, -0.5, True))

    def test_delayed_genes_are_the_compilers(self):
        g = genome(*self.GENES)
        delayed = delayed_genes(g, 2)
        assert delayed.tolist() == [False, False, True, False, True, True, False, False]
        programs = compile_programs([g], 2, 1, recurrent=True)
        assert int(programs.in_delay.sum()) == int(delayed.sum())   # every node is kept

    def test_depth_ignores_delayed_genes(self):
        g = genome(*self.GENES)
        delayed = delayed_genes(g, 2)
        assert _plotting.node_depths(g, 2, 1, delayed) == {1: 0, 2: 0, 4: 1, 5: 2}
        # read as feed-forward, the cycle 4 <-> 5 leaves both at depth 1
        assert _plotting.node_depths(g, 2, 1) == {1: 0, 2: 0, 4: 1, 5: 1}
        pos = _plotting.network_layout(g, 2, 1, delayed)
        assert pos[4][0] < pos[5][0] < pos[3][0]

    def test_delayed_genes_are_dashed_and_the_self_loop_is_a_loop(self):
        g = genome(*self.GENES)
        champion = Champion(g, 2, 1, recurrent=True, generation=0, fitness=1.0)
        delayed = _plotting.delayed_of(champion)
        pos = _plotting.network_layout(g, 2, 1, delayed)
        fig = Figure()
        ax = fig.add_subplot()
        _plotting._draw_network(ax, champion, pos, delayed, (500.0, 400.0))
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "delayed (previous step)" in labels and "disabled" in labels
        enabled = [c for c in ax.collections if len(c.get_segments()) == 7]
        assert len(enabled) == 1
        dashed = [ls[1] is not None for ls in enabled[0].get_linestyles()]
        assert sum(dashed) == 3
        loops = [seg for seg in enabled[0].get_segments()
                 if np.allclose(seg[0], seg[-1]) and np.allclose(seg[0], pos[3])]
        assert len(loops) == 1 and loops[0][:, 1].max() > pos[3][1] + 0.01
        plain = Champion(g, 2, 1, recurrent=False, generation=0, fitness=1.0)
        ax2 = Figure().add_subplot()
        _plotting._draw_network(ax2, plain, pos, _plotting.delayed_of(plain), (500.0, 400.0))
        assert "delayed (previous step)" not in [t.get_text()
                                                 for t in ax2.get_legend().get_texts()]


def test_run_figure_panels(cartpole_run):
    fig = _plotting.run_figure(ezspark.RunFile.open(cartpole_run), generation=1)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert titles[:2] == ["Fitness", "Species and population"]
    assert titles[2].startswith("Champion of generation 1 (fitness 50)")


def test_the_bias_input_is_labelled_bias(bias_run, cartpole_run):
    """A run with bias_input draws its last input as "bias", the others as observations."""
    def labels(run):
        fig = _plotting.run_figure(ezspark.RunFile.open(run))
        return [t.get_text() for ax in fig.axes for t in ax.texts
                if t.get_text().startswith(("obs[", "bias"))]
    assert labels(bias_run) == ["obs[0]", "obs[1]", "obs[2]", "obs[3]", "bias"]
    assert labels(cartpole_run) == ["obs[0]", "obs[1]", "obs[2]", "obs[3]"]


# -- nothing is cut at a panel's edge ------------------------------------------------------

def lunarlander_genome() -> Genome:
    """8 inputs, 4 outputs and 10 hidden nodes in three columns, fully connected input to
    output, with connections that skip columns and a few disabled ones."""
    rng = np.random.default_rng(3)
    pairs = [(a, b) for a in range(1, 9) for b in range(9, 13)]
    pairs += [(int(a), h) for h in (13, 14, 15, 16) for a in rng.choice(8, 4, replace=False) + 1]
    pairs += [(a, h) for h in (17, 18, 19) for a in (13, 14, 15, 16, int(rng.integers(1, 9)))]
    pairs += [(a, h) for h in (20, 21, 22) for a in (17, 18, 19, 13, int(rng.integers(1, 9)))]
    pairs += [(h, b) for h in range(13, 23) for b in range(9, 13)]
    pairs += [(8, 12)]                                   # the lowest input to the lowest output
    pairs = list(dict.fromkeys(pairs))
    return genome(*((a, b, rng.normal(), rng.random() > 0.1) for a, b in pairs))


def random_genome(seed: int, n_in: int, n_out: int, n_hidden: int, p: float) -> Genome:
    """Each input or hidden node connected forward (to later hidden nodes and to outputs)
    with probability p: arcs around nodes in every place, near the panel's borders too."""
    rng = np.random.default_rng(seed)
    order = list(range(1, n_in + 1)) + list(range(n_in + n_out + 1, n_in + n_out + n_hidden + 1))
    outputs = list(range(n_in + 1, n_in + n_out + 1))
    pairs = []
    for i, a in enumerate(order):
        pairs += [(a, b) for b in order[i + 1:] if b > n_in and rng.random() < p]
        pairs += [(a, b) for b in outputs if rng.random() < p]
    weights, enabled = rng.normal(size=len(pairs)), rng.random(len(pairs)) > 0.1
    return genome(*((a, b, w, e) for (a, b), w, e in zip(pairs, weights, enabled)))


def extent(artist, renderer):
    """Where ``artist`` draws, in pixels: for line collections the transformed paths and
    half the widest line, else the artist's own window extent."""
    if isinstance(artist, Collection):
        boxes = [artist.get_transform().transform_path(p).get_extents()
                 for p in artist.get_paths()]
        half = max(artist.get_linewidths()) * artist.figure.dpi / 72 / 2
        return Bbox.union(boxes).padded(half)
    return artist.get_window_extent(renderer)


def inside(box, outer, tolerance=1.0) -> bool:
    return (box.x0 >= outer.x0 - tolerance and box.y0 >= outer.y0 - tolerance
            and box.x1 <= outer.x1 + tolerance and box.y1 <= outer.y1 + tolerance)


def assert_nothing_cut(fig):
    """Every line, collection, marker and label of each axes lies inside the axes; titles
    and legends (above and below by design) inside the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    checked = 0
    for ax in fig.axes:
        titles = {ax.get_title(loc=loc) for loc in ("left", "center", "right")} - {""}
        for artist in ax.get_children():
            if not artist.get_visible() or artist is ax.patch or isinstance(artist, (Spine, Axis)):
                continue
            outside_by_design = isinstance(artist, Legend) or (
                isinstance(artist, Text) and artist.get_text() in titles)
            if isinstance(artist, Text) and not artist.get_text():
                continue
            box = extent(artist, renderer)
            outer = fig.bbox if outside_by_design else ax.bbox
            assert inside(box, outer), (type(artist).__name__, box.extents, outer.extents,
                                        getattr(artist, "get_text", str)())
            checked += 1
    assert checked > 10


@pytest.mark.parametrize("shape", ["tiny", "lunarlander", "crowded", "deep", "random-0",
                                   "random-6", "random-14", "random-29", "random-xor"])
def test_every_drawn_element_lies_inside_its_panel(shape, cartpole_run):
    n_in, n_out = 8, 4
    if shape == "tiny":
        n_in, n_out, g = 1, 1, genome((1, 2, -0.5, True))
    elif shape == "lunarlander":
        g = lunarlander_genome()
    elif shape == "crowded":                                # 12 hidden nodes in one column
        n_in, n_out = 2, 1
        g = genome(*[(1, 3 + k, 1.0, True) for k in range(1, 13)]
                   + [(3 + k, 3, -1.0, k % 3 > 0) for k in range(1, 13)] + [(2, 3, 2.0, True)])
    elif shape == "deep":                                   # a chain, and skips over it
        n_in, n_out = 3, 2
        chain = [1] + list(range(6, 12)) + [4]
        g = genome(*[(a, b, 1.0, True) for a, b in zip(chain, chain[1:])]
                   + [(3, 5, -1.0, True), (2, 4, 0.5, True), (1, 5, 0.3, False),
                      (3, 9, 1.5, True), (7, 5, -2.0, True)])
    elif shape == "random-xor":
        n_in, n_out, g = 2, 1, random_genome(5, 2, 1, 9, 0.5)
    else:
        g = random_genome(int(shape.split("-")[1]), n_in, n_out, 12, 0.35)
    base = ezspark.RunFile.open(cartpole_run)
    champion = Champion(g, n_in, n_out, generation=1, fitness=123.4, species=1)
    run = ezspark.RunFile(base.path, {**base.attrs, "env_id": "LunarLander-v3"},
                          base.config_json, base.history, ChampionTable.of([champion]))
    assert_nothing_cut(_plotting.run_figure(run))
