"""Charts of the evidence reports, drawn with matplotlib and handed over as SVG bytes.

In: plain sequences of numbers the report module has read from ``forensics.duckdb``
(never a connection, never a query). Out: one SVG document per chart, which the PDF
embeds as vector graphics. Every chart has a title, labelled axes with units and a
legend when it compares the cluster with the population; the one-line caption that says
what to look at is written by the report next to its source table.

Why SVG and why so careful: the PDF must be byte-identical from one build to the next,
and matplotlib's SVG writer otherwise stamps the date and random element ids. Here the
id salt is fixed, the date is left out, the ``<metadata>`` block (which fpdf2 ignores
anyway) is removed. Text stays text (``svg.fonttype: none``): fpdf2 sets it in the DejaVu
Sans the PDF embeds anyway, so chart labels are searchable and the SVG is ten times
smaller and faster to convert than one with every glyph as a path. Figures are built
with ``matplotlib.figure.Figure`` (no pyplot state), so charts never leak into each
other.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Sequence
from datetime import date

import igraph
import matplotlib
from matplotlib.artist import Artist
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DayLocator, date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter

CLUSTER = "#b2182b"
"""The cluster's colour in every chart."""
POPULATION = "#8c8c8c"
"""The population's (every account of the window) colour in every chart."""
ACCENT = "#2166ac"
FAMILY_COLOURS = {
    "registry": "#b2182b",
    "timing": "#ef8a62",
    "infrastructure": "#2166ac",
    "content": "#67a9cf",
}
WIDTH_IN = 6.9
HEIGHT_IN = 2.55

_STYLE = {
    "svg.hashsalt": "distill-forensics",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e0e0e0",
    "grid.linewidth": 0.6,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "path.simplify": True,
}
_METADATA = re.compile(rb"<metadata>.*?</metadata>\s*", re.DOTALL)
_FONT_SIZE_PX = re.compile(rb"font-size: ([\d.]+)px")
"""matplotlib's SVG user unit is the point but it writes font sizes in ``px``, which fpdf2
reads as CSS pixels (0.75 pt); sizes are rewritten in ``pt`` so text keeps its size.
Text without a fill would take whatever fill colour the page last used, so each text
element gets the report's ink colour."""


def _figure(height: float = HEIGHT_IN, width: float = WIDTH_IN, *, left: float = 0.62,
            right: float = 0.12, top: float = 0.34, bottom: float = 0.5) -> Figure:
    """A figure with fixed margins in inches (matplotlib's constrained layout would find
    them itself, at a third of a chart's drawing time)."""
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                        bottom=bottom / height)
    return fig


def to_svg(fig: Figure) -> bytes:
    """The figure as deterministic SVG bytes (no date, fixed ids, no metadata block)."""
    buf = io.BytesIO()
    with matplotlib.rc_context(_STYLE):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = _METADATA.sub(b"", buf.getvalue())
    svg = svg.replace(b'<text style="', b'<text style="fill: #212121; ')
    svg = svg.replace(b"<text>", b"<text style=\"fill: #212121; font-family: 'DejaVu Sans'\">")
    return _FONT_SIZE_PX.sub(rb"font-size: \1pt", svg)


def _styled(draw):  # type: ignore[no-untyped-def]
    """Run a chart function under the report style (rc values apply at draw time and at
    artist creation, so both must be inside the context)."""

    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        with matplotlib.rc_context(_STYLE):
            return draw(*args, **kwargs)

    wrapper.__name__ = draw.__name__
    wrapper.__doc__ = draw.__doc__
    return wrapper


@_styled
def compare_bars(categories: Sequence[str], cluster: Sequence[float],
                 population: Sequence[float], *, title: str, xlabel: str, ylabel: str,
                 horizontal: bool = False) -> bytes:
    """Side-by-side bars of the cluster's and the population's shares per category."""
    n = len(categories)
    height = max(HEIGHT_IN, 0.22 * n + 0.9) if horizontal else HEIGHT_IN
    longest = max((len(c) for c in categories), default=4)
    fig = _figure(height, left=0.45 + 0.06 * longest) if horizontal else _figure(height)
    ax = fig.add_subplot()
    pos = list(range(n))
    w = 0.4
    if horizontal:
        ax.barh([p - w / 2 for p in pos], cluster, height=w, color=CLUSTER, label="cluster")
        ax.barh([p + w / 2 for p in pos], population, height=w, color=POPULATION,
                label="population")
        ax.set_yticks(pos, categories)
        ax.invert_yaxis()
        ax.grid(axis="x")
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(ylabel)
        ax.set_ylabel(xlabel)
    else:
        ax.bar([p - w / 2 for p in pos], cluster, width=w, color=CLUSTER, label="cluster")
        ax.bar([p + w / 2 for p in pos], population, width=w, color=POPULATION,
               label="population")
        ax.set_xticks(pos, categories)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_xlim(-0.6, n - 0.4)
    ax.set_title(title)
    _legend_above(ax)
    return to_svg(fig)


def _legend_above(ax, handles=None, labels=None) -> None:  # type: ignore[no-untyped-def]
    """The legend in one row above the plot's right corner, level with the title, where
    it never hides data."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="lower right", bbox_to_anchor=(1.0, 1.0),
              ncols=len(handles), borderaxespad=0.2, handlelength=1.4)


@_styled
def daily_volume(days: Sequence[date], requests: Sequence[int],
                 accounts: Sequence[int]) -> bytes:
    """Requests per day as bars and active accounts per day as a line on a second axis."""
    fig = _figure(right=0.62)
    ax = fig.add_subplot()
    ax.bar(days, requests, color=CLUSTER, width=0.8, label="requests")
    ax.set_ylabel("requests per day")
    ax.set_xlabel("UTC day")
    ax.set_title("Daily volume and active accounts")
    ax2 = ax.twinx()
    ax2.plot(days, accounts, color="#222222", marker="o", markersize=3, linewidth=1.2,
             label="active accounts")
    ax2.set_ylabel("active accounts")
    ax2.set_ylim(bottom=0, top=max([*accounts, 1]) * 1.15)
    ax2.spines["right"].set_visible(True)
    ax2.grid(False)
    _date_axis(ax, days)
    handles = ax.get_legend_handles_labels()
    handles2 = ax2.get_legend_handles_labels()
    _legend_above(ax, handles[0] + handles2[0], handles[1] + handles2[1])
    return to_svg(fig)


def _date_axis(ax, days: Sequence[date]) -> None:  # type: ignore[no-untyped-def]
    """Whole days on the x axis: one tick a day for short windows, fewer for long ones."""
    span = (max(days) - min(days)).days + 1 if days else 0
    locator = DayLocator() if span <= 14 else AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if days:
        # half a day beyond the first and last days, so their bars show whole (a date minus
        # twelve hours is the same date, which left a one-day window without any width)
        ax.set_xlim(date2num(min(days)) - 0.5, date2num(max(days)) + 0.5)


@_styled
def lines_over_time(days: Sequence[date], series: Sequence[tuple[str, Sequence[float], str]],
                    *, title: str, ylabel: str) -> bytes:
    """One line per (label, values, colour) over UTC days."""
    fig = _figure()
    ax = fig.add_subplot()
    for label, values, colour in series:
        ax.plot(days, values, label=label, color=colour, marker="o", markersize=3,
                linewidth=1.3)
    ax.set_title(title)
    ax.set_xlabel("UTC day")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    _date_axis(ax, days)
    _legend_above(ax)
    return to_svg(fig)


@_styled
def histogram(values: Sequence[float], *, bins: int, title: str, xlabel: str,
              ylabel: str, dates: bool = False) -> bytes:
    """A plain histogram of one variable (creation times, scores)."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.hist(values, bins=bins, color=CLUSTER, edgecolor="white", linewidth=0.4)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if dates:
        locator = AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return to_svg(fig)


@_styled
def account_graph(accounts: Sequence[str], edges: Sequence[tuple[str, str, float, str]],
                  *, title: str, seed: int = 7) -> bytes:
    """The cluster's account graph: accounts as dots, links as lines coloured by the
    strongest evidence family of the link (registry, timing, infrastructure, content).

    The layout is igraph's Fruchterman-Reingold, seeded, so the picture is a function of
    the edges alone.
    """
    index = {a: i for i, a in enumerate(accounts)}
    pairs = [(index[a], index[b]) for a, b, _w, _f in edges]
    graph = igraph.Graph(n=len(accounts), edges=pairs, directed=False)
    rng = random.Random(seed)
    igraph.set_random_number_generator(rng)
    start = [[rng.random(), rng.random()] for _ in accounts]
    layout = graph.layout_fruchterman_reingold(
        weights=[w for _a, _b, w, _f in edges] or None, niter=300, seed=start)
    coords = layout.coords
    igraph.set_random_number_generator(random)
    fig = _figure(3.4, 6.9, left=0.1, right=1.45, bottom=0.1)
    ax = fig.add_subplot()
    handles: list[Artist] = []
    # One path per family, not one per link: a report's reader (and fpdf, which parses the
    # SVG) meets four elements rather than thousands (3,801 links on the sample: the SVG
    # a third the size, embedded in 0.5 s rather than 1.2 s).
    for family, colour in FAMILY_COLOURS.items():
        segs = [(coords[index[a]], coords[index[b]]) for a, b, _w, f in edges if f == family]
        if segs:
            links = MplPath([p for seg in segs for p in seg],
                            [MplPath.MOVETO, MplPath.LINETO] * len(segs))
            ax.add_patch(PathPatch(links, fill=False, edgecolor=colour, linewidth=0.5,
                                   alpha=0.55))
            handles.append(Line2D([], [], color=colour, linewidth=0.8, label=f"{family} link"))
    size = 14 if len(accounts) <= 60 else 6
    handles.append(ax.scatter([c[0] for c in coords], [c[1] for c in coords], s=size,
                              color="#222222", zorder=3, linewidths=0, label="account"))
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return to_svg(fig)


@_styled
def verdict_scores(rows: Sequence[tuple[str, float, int]]) -> bytes:
    """Risk score against cluster size (log scale), one dot per cluster coloured by verdict."""
    colours = {"flagged": CLUSTER, "watch": "#ef8a62", "clear": POPULATION}
    fig = _figure()
    ax = fig.add_subplot()
    for verdict in ("clear", "watch", "flagged"):
        pts = [(n, s) for v, s, n in rows if v == verdict]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=10, color=colours[verdict],
                       label=f"{verdict} ({len(pts):,})", linewidths=0, alpha=0.8)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.set_xlabel("accounts in the cluster (log scale)")
    ax.set_ylabel("risk score (0 to 1)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("Clusters by size and risk score")
    _legend_above(ax)
    return to_svg(fig)
