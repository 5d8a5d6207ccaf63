"""Figures of a run: fitness and species curves, and a drawing of a champion network.

Pure matplotlib, without pyplot: figures are ``matplotlib.figure.Figure`` objects drawn by
the Agg canvas, so nothing here touches matplotlib's global backend or needs a display.
Importing this module requires matplotlib (the ``ezspark[plot]`` extra).

Network layout: inputs in a column on the left (observation index 0 at the top), outputs
in a column on the right (action index 0 at the top), hidden nodes in between, one column
per depth, the depth being the longest path from the inputs over enabled genes.  In a
recurrent network the delayed genes (docs/algorithm.md 3.4: they read the previous step)
do not count for depth, are drawn dashed in their sign's colour, and a self-loop is a small
loop on top of its node.
"""
from __future__ import annotations

import io

import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ezspark.network.programs import delayed_genes

__all__ = ["node_depths", "network_layout", "delayed_of", "run_figure", "render"]

WIDTH = 13.0                                    # figure width, inches
CURVES, NETWORK = 1.0, 1.25                     # width ratio of the two columns
POSITIVE, NEGATIVE, DISABLED = "#1f77b4", "#d62728", "#9a9a9a"
DELAYED_DASH = (0, (4, 1.5))                    # line style of a delayed (recurrent) gene
XLIM = (-0.14, 1.14)                            # network axes: room for labels beside x 0, 1
NODE_COLOURS = {"input": "#d9ead3", "hidden": "#fff2cc", "output": "#cfe2f3"}


def image_formats() -> dict[str, str]:
    """File formats matplotlib can write, by suffix."""
    return FigureCanvasBase.get_supported_filetypes()


def node_depths(genome, n_inputs: int, n_outputs: int,
                delayed: np.ndarray | None = None) -> dict[int, int]:
    """Depth of every input and hidden node: 0 for inputs, else 1 + the largest depth of
    a source over enabled genes into the node (1 for a hidden node without any).  The genes
    ``delayed`` flags (bool per gene, a recurrent network's: ``delayed_genes``) do not
    count."""
    n_io = n_inputs + n_outputs
    hidden = genome.hidden_nodes(n_inputs, n_outputs).tolist()
    depth = {node: 0 for node in range(1, n_inputs + 1)}
    depth.update({node: 1 for node in hidden})
    counted = genome.enabled if delayed is None else genome.enabled & ~delayed
    edges = [(a, b) for a, b, on in zip(genome.src.tolist(), genome.dst.tolist(),
                                        counted.tolist()) if on and b > n_io]
    # Longest path by relaxation in topological order (Kahn's algorithm); the counted genes
    # are acyclic (docs/algorithm.md 3.3), and should a foreign file hold a cycle, its
    # nodes keep depth 1.
    children: dict[int, list[int]] = {}
    indegree = {node: 0 for node in hidden}
    for a, b in edges:
        children.setdefault(a, []).append(b)
        indegree[b] += 1
    ready = [node for node in depth if indegree.get(node, 0) == 0]
    while ready:
        node = ready.pop()
        for child in children.get(node, ()):
            depth[child] = max(depth[child], depth[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return depth


def network_layout(genome, n_inputs: int, n_outputs: int,
                   delayed: np.ndarray | None = None) -> dict[int, tuple[float, float]]:
    """Position (x, y) in [0, 1]² of every node (``delayed``: as ``node_depths``).

    x: depth / the output column's number, so inputs at 0 and outputs at 1.  y, from the
    top (1) down: inputs and outputs spread evenly in node id order; each hidden node as
    near the mean height of its enabled sources as the spacing of the densest column allows.
    """
    depth = node_depths(genome, n_inputs, n_outputs, delayed)
    last = max(depth.values(), default=0) + 1            # the output column
    columns: dict[int, list[int]] = {}
    for node in sorted(depth):
        columns.setdefault(depth[node], []).append(node)
    columns[last] = list(range(n_inputs + 1, n_inputs + n_outputs + 1))
    gap = 1.0 / max(len(nodes) for nodes in columns.values())
    sources: dict[int, list[int]] = {}
    for a, b, on in zip(genome.src.tolist(), genome.dst.tolist(), genome.enabled.tolist()):
        if on:
            sources.setdefault(b, []).append(a)
    pos: dict[int, tuple[float, float]] = {}
    for d in sorted(columns):
        nodes = columns[d]
        if d in (0, last):
            heights = [1.0 - (i + 0.5) / len(nodes) for i in range(len(nodes))]
        else:
            wanted = {n: np.mean([pos[s][1] for s in sources.get(n, ()) if s in pos] or [0.5])
                      for n in nodes}
            nodes = sorted(nodes, key=lambda n: (-wanted[n], n))
            heights = _spread([wanted[n] for n in nodes], gap)
        for node, y in zip(nodes, heights):
            pos[node] = (d / last, float(y))
    return pos


def _spread(wanted: list[float], gap: float) -> list[float]:
    """Heights near ``wanted`` (descending), at least ``gap`` apart, within [gap/2, 1-gap/2];
    needs len(wanted) * gap <= 1."""
    y = list(wanted)
    for i in range(len(y)):                      # down from the top
        y[i] = min(y[i], 1.0 - gap / 2 if i == 0 else y[i - 1] - gap)
    for i in reversed(range(len(y))):            # up from the bottom
        y[i] = max(y[i], gap / 2 if i == len(y) - 1 else y[i + 1] + gap)
    return y


def _draw_fitness(ax, history, generation: int | None) -> None:
    gens = history["generation"]
    style = {"marker": "o", "markersize": 3} if len(gens) <= 60 else {}
    ax.plot(gens, history["best_fitness"], label="best", color="#2ca02c", **style)
    ax.plot(gens, history["mean_fitness"], label="mean", color="#7f7f7f", **style)
    if generation is not None:
        ax.axvline(generation, color="#444444", linestyle=":", linewidth=1,
                   label="champion")
    ax.set_ylabel("fitness")
    ax.set_title("Fitness", fontsize=10, loc="left")
    _legend_above(ax, ax.get_lines())
    _generation_axis(ax, gens)


def _draw_species(ax, history) -> None:
    gens = history["generation"]
    style = {"marker": "o", "markersize": 3} if len(gens) <= 60 else {}
    rows = history["species"] >= 0                        # -1: final generation, not counted
    ax.plot(gens[rows], history["species"][rows], color="#9467bd", label="species", **style)
    ax.set_ylabel("species", color="#9467bd")
    ax.set_xlabel("generation")
    twin = ax.twinx()
    twin.plot(gens, history["population"], color="#ff7f0e", linestyle="--",
              label="population", **style)
    twin.set_ylabel("population", color="#ff7f0e")
    for a in (ax, twin):
        a.set_ylim(bottom=0, top=None if a.get_ylim()[1] >= 1 else 1)
        a.yaxis.get_major_locator().set_params(integer=True)
    _generation_axis(ax, gens)
    ax.set_title("Species and population", fontsize=10, loc="left")
    _legend_above(ax, ax.get_lines() + twin.get_lines())


def _generation_axis(ax, gens) -> None:
    """Integer ticks on x, at least a few generations wide; a light grid."""
    ax.xaxis.get_major_locator().set_params(integer=True)
    if len(gens) and gens[-1] - gens[0] < 4:
        ax.set_xlim(gens[0] - 0.5, gens[0] + 4.5)
    ax.grid(alpha=0.3)


def _legend_above(ax, lines) -> None:
    """A one-row legend right-aligned above the axes, beside a left-aligned title."""
    ax.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="lower right",
              bbox_to_anchor=(1.0, 1.0), ncol=len(lines), frameon=False, borderaxespad=0.2)


def _edge_curve(p0, p1, obstacles: np.ndarray, clearance: float = 0.045) -> np.ndarray:
    """Points of the edge p0 -> p1: a straight line, or if that passes over another node
    (``obstacles``: positions, shape (n, 2)), the quadratic Bezier arc that clears them best."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    t = np.linspace(0.0, 1.0, 25)[:, None]

    def gap(curve):
        if not len(obstacles):
            return np.inf
        return np.sqrt(((curve[:, None, :] - obstacles[None, :, :]) ** 2).sum(-1)).min()

    straight = p0 + t * (p1 - p0)
    if gap(straight) >= clearance:
        return straight
    normal = np.array([p0[1] - p1[1], p1[0] - p0[0]])   # p1 - p0 turned by +90 degrees
    arcs = []
    for bend in (0.12, -0.12, 0.25, -0.25):
        control = (p0 + p1) / 2 + bend * normal
        arcs.append((1 - t) ** 2 * p0 + 2 * t * (1 - t) * control + t ** 2 * p1)
    return max(arcs, key=gap)


def _node_labels(champion) -> list[tuple[str, int, str]]:
    """(kind, node id, label): inputs and outputs by index, hidden nodes by id; a bias
    input (the ``bias_input`` key: the last input) is labelled "bias"."""
    n_in, n_out = champion.n_inputs, champion.n_outputs
    inp, out = ("obs[{}]", "action {}") if champion.env_id else ("in {}", "out {}")
    bias = champion.bias_input
    return ([("input", n, "bias" if bias and n == n_in else inp.format(n - 1))
             for n in range(1, n_in + 1)]
            + [("output", n_in + 1 + j, out.format(j)) for j in range(n_out)]
            + [("hidden", n, str(n)) for n in champion.hidden_nodes.tolist()])


def _tallest_column(pos: dict) -> int:
    return int(np.unique([x for x, _ in pos.values()], return_counts=True)[1].max())


def delayed_of(champion) -> np.ndarray:
    """bool per gene of the champion: delayed in its network (none unless recurrent)."""
    g = champion.genome
    return delayed_genes(g, champion.n_inputs) if champion.recurrent \
        else np.zeros(len(g), dtype=bool)


def _draw_network(ax, champion, pos: dict, delayed: np.ndarray,
                  size_pt: tuple[float, float]) -> None:
    """The champion's network at positions ``pos`` on ``ax``, ``delayed`` genes dashed,
    about ``size_pt`` (width, height in points) large."""
    ax.axis("off")
    _fit_limits(ax, _draw_edges(ax, champion.genome, pos, delayed))
    _draw_nodes(ax, champion, pos, size_pt)
    _network_title_and_legend(ax, champion, bool(delayed.any()))


def _fit_limits(ax, curves: list[np.ndarray], pad: float = 0.02) -> None:
    """Limits that hold the nodes in [0, 1]², their labels beside the input and output
    columns (XLIM) and every edge: an arc around a node near the border bends outside
    [0, 1]², and would be cut at the panel's edge.  ``pad`` leaves room for line widths."""
    points = np.concatenate(curves) if curves else np.zeros((0, 2))
    ax.set_xlim(min(XLIM[0], points[:, 0].min(initial=0.0) - pad),
                max(XLIM[1], points[:, 0].max(initial=1.0) + pad))
    ax.set_ylim(min(-pad, points[:, 1].min(initial=0.0) - pad),
                max(1.0 + pad, points[:, 1].max(initial=1.0) + pad))


def _draw_edges(ax, g, pos: dict, delayed: np.ndarray) -> list[np.ndarray]:
    """Connections as curves around other nodes (a self-loop as a loop on its node):
    enabled ones coloured by sign, width by |weight|, ``delayed`` ones dashed; disabled
    ones grey and finely dashed.  Returns the curves' points."""
    clearance = min(0.045, 0.45 / _tallest_column(pos))
    nodes = np.array(list(pos.values()))
    ids = list(pos)
    curves = []
    for a, b in zip(g.src.tolist(), g.dst.tolist()):
        if a == b:
            curves.append(_self_loop(pos[a], clearance))
            continue
        others = nodes[[i for i, n in enumerate(ids) if n != a and n != b]]
        curves.append(_edge_curve(pos[a], pos[b], others, clearance))
    on = g.enabled
    if not on.all():
        ax.add_collection(LineCollection([c for c, e in zip(curves, on) if not e],
                                         colors=DISABLED, linewidths=0.7,
                                         linestyles=(0, (2, 2)), alpha=0.7, zorder=1))
    if on.any():
        w = g.weight[on]
        thickest = float(np.clip(3.6 * np.sqrt(60 / w.size), 1.2, 3.6))
        widths = 0.3 + thickest * np.abs(w) / max(np.abs(w).max(), 1e-12)
        order = np.argsort(widths)                 # thick edges on top of thin ones
        enabled_curves = [c for c, e in zip(curves, on) if e]
        late = delayed[on]
        ax.add_collection(LineCollection(
            [enabled_curves[i] for i in order], linewidths=widths[order], alpha=0.75, zorder=2,
            colors=[POSITIVE if w[i] >= 0 else NEGATIVE for i in order],
            linestyles=[DELAYED_DASH if late[i] else "solid" for i in order]))
    return curves


def _self_loop(p, radius: float) -> np.ndarray:
    """Points of a circle of ``radius`` standing on the node at ``p`` (it starts and ends
    there)."""
    t = np.linspace(0.0, 2 * np.pi, 25)
    return np.column_stack([p[0] + radius * np.sin(t), p[1] + radius * (1 - np.cos(t))])


def _draw_nodes(ax, champion, pos: dict, size_pt: tuple[float, float]) -> None:
    """Nodes as circles sized to fit their column; hidden ids inside, indices beside."""
    width_pt, height_pt = size_pt
    columns = len({x for x, _ in pos.values()})
    hidden_marker = float(np.clip(min(0.85 * height_pt / _tallest_column(pos),
                                      0.6 * width_pt / (XLIM[1] - XLIM[0]) / columns),
                                  3.0, 22.0))
    for kind, node, label in _node_labels(champion):
        x, y = pos[node]
        n = {"input": champion.n_inputs, "output": champion.n_outputs}.get(kind)
        # a column of n inputs or outputs: nodes and labels shrink to fit its height
        diameter = hidden_marker if n is None else float(np.clip(0.7 * height_pt / n, 3.0, 16.0))
        ax.plot([x], [y], "o", markersize=diameter, color=NODE_COLOURS[kind],
                markeredgecolor="#333333", markeredgewidth=0.8, zorder=3)
        if n is None:                            # hidden: its id inside the circle
            ax.annotate(label, (x, y), ha="center", va="center", zorder=4,
                        fontsize=min(9.0, 1.2 * diameter / max(len(label), 2)))
        else:                                    # input / output: index beside it
            side = -1 if kind == "input" else 1
            ax.annotate(label, (x, y), xytext=(side * (diameter / 2 + 3), 0),
                        textcoords="offset points", ha="right" if side < 0 else "left",
                        va="center", fontsize=float(np.clip(0.42 * height_pt / n, 2.5, 9.0)),
                        zorder=4)


def _network_title_and_legend(ax, champion, any_delayed: bool) -> None:
    on = champion.genome.enabled
    n_hidden, n_off = len(champion.hidden_nodes), int((~on).sum())
    ax.set_title(f"Champion of generation {champion.generation} (fitness "
                 f"{champion.fitness:.6g})\n{_count(n_hidden, 'hidden node')}, "
                 f"{_count(int(on.sum()), 'connection')}"
                 + (f" (+{n_off} disabled)" if n_off else ""), fontsize=10, loc="left")
    legend = [Line2D([], [], color=POSITIVE, linewidth=2, label="weight > 0"),
              Line2D([], [], color=NEGATIVE, linewidth=2, label="weight < 0")]
    if any_delayed:
        legend.append(Line2D([], [], color="#555555", linewidth=1.5, linestyle=DELAYED_DASH,
                             label="delayed (previous step)"))
    if n_off:
        legend.append(Line2D([], [], color=DISABLED, linewidth=1, linestyle=(0, (2, 2)),
                             label="disabled"))
    ax.legend(handles=legend, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=len(legend), frameon=False, title="line width: |weight|",
              title_fontsize=8)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def run_figure(run, generation: int | str | None = None) -> Figure:
    """One figure of ``run`` (a RunFile): fitness, species and population curves on the
    left, the champion ``generation`` names (default: the best validated one) on the right."""
    champion = run.champion(generation)
    history = run.history
    delayed = delayed_of(champion)
    pos = network_layout(champion.genome, champion.n_inputs, champion.n_outputs, delayed)
    height = float(np.clip(3.0 + 0.11 * _tallest_column(pos), 6.5, 14.0))  # inches
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    FigureCanvasAgg(fig)
    rows = [1, 1] if height <= 8 else [3.2, 3.2, height - 6.4]  # curves stay ~3 in tall
    grid = fig.add_gridspec(len(rows), 2, width_ratios=[CURVES, NETWORK], height_ratios=rows)
    _draw_fitness(fig.add_subplot(grid[0, 0]), history, champion.generation)
    _draw_species(fig.add_subplot(grid[1, 0]), history)
    # The network's share of the figure in points (72 per inch), less titles and legend.
    network_pt = (72 * WIDTH * NETWORK / (CURVES + NETWORK), 72 * (height - 1.2))
    _draw_network(fig.add_subplot(grid[:, 1]), champion, pos, delayed, network_pt)
    fig.suptitle(f"{run.path}  ({champion.env_id or 'fitness function'}, "
                 f"{_count(len(history), 'generation')})", fontsize=11)
    return fig


def render(fig: Figure, fmt: str = "png", dpi: int = 100) -> bytes:
    """The figure as image bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()
