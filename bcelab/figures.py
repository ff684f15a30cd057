"""House style and the one function that saves every figure of the series.

Every notebook calls :func:`use_style` in its setup cell, draws with
:func:`new_figure` and saves with :func:`save_figure`, which writes
``figures/<NN>-<slug>.{pdf,svg,png}`` with deterministic bytes.

Environment variables:

``BCELAB_FIGURES_DIR``
    Folder to write to instead of the repository's ``figures/``.
``BCELAB_FIGURES_CHECK``
    When ``1``, :func:`save_figure` writes nothing and raises if the bytes it
    would write differ from the files on disk. ``make test`` sets it, so a
    stale committed figure fails the notebook cell that draws it.
"""

import io
import os
import re
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt

# Okabe & Ito (2008), "Color Universal Design": distinguishable with the
# common forms of colour-vision deficiency, and in greyscale by lightness.
PALETTE = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

# The cycle leaves out yellow, which is too light on white for thin lines.
CYCLE = [PALETTE[name] for name in ("blue", "vermillion", "green", "orange", "purple", "sky_blue", "black")]

# Widths in inches of one column and of the full text width in common
# two-column journal layouts (IEEE: 3.5 in and 7.16 in).
ONE_COLUMN = 3.4
TWO_COLUMNS = 7.0

PNG_DPI = 300

# Fixed salt for the ids in SVG files, so that two saves give the same bytes.
SVG_HASH_SALT = "bcelab"

FIGURE_NAME = re.compile(r"^[0-9]{2}-[a-z0-9]+(-[a-z0-9]+)*$")
FORMATS = ("pdf", "svg", "png")

# Metadata entries set to None are left out of the file, so nothing depends
# on the date, the host or the matplotlib version string.
METADATA = {
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
    "svg": {"Creator": None, "Date": None, "Format": None, "Type": None},
    "png": {"Software": None},
}

STYLE = {
    "font.family": "DejaVu Sans",  # ships with matplotlib, so every machine renders alike
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.linewidth": 0.4,
    "grid.alpha": 0.5,
    "lines.linewidth": 1.2,
    "legend.frameon": False,
    "figure.dpi": 110,
    "figure.constrained_layout.use": True,
    "savefig.dpi": PNG_DPI,
    # Type 42 (TrueType) embeds the font in PDF instead of Type 3 bitmaps.
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    # Glyphs as paths: the SVG looks the same without the font installed.
    "svg.fonttype": "path",
    "svg.hashsalt": SVG_HASH_SALT,
}


def use_style():
    """Apply the series' matplotlib style to the current session."""
    mpl.rcParams.update(STYLE)


def new_figure(width="one", height=None, nrows=1, ncols=1, **subplot_kw):
    """Create a figure sized for a one- or two-column layout.

    Args:
        width: ``"one"`` (3.4 in) or ``"two"`` (7.0 in).
        height: height in inches; by default 0.75 of one panel's width (at
            most 2.6 in) for a single row, and 0.9 of that more per extra row.
        nrows, ncols, subplot_kw: passed to ``plt.subplots``.

    Returns:
        ``(fig, axes)`` as from ``plt.subplots``.
    """
    widths = {"one": ONE_COLUMN, "two": TWO_COLUMNS}
    if width not in widths:
        raise ValueError(f"width must be 'one' or 'two'; got {width!r}")
    inches = widths[width]
    if height is None:
        panel_width = inches / ncols
        height = min(panel_width * 0.75, 2.6) * (1 + 0.9 * (nrows - 1))
    if not height > 0:
        raise ValueError(f"height must be a positive number of inches; got {height!r}")
    return plt.subplots(nrows, ncols, figsize=(inches, height), **subplot_kw)


def figures_dir():
    """Return the folder figures are saved in (``BCELAB_FIGURES_DIR`` or ``figures/``)."""
    configured = os.environ.get("BCELAB_FIGURES_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "figures"


def render(fig, fmt):
    """Return the bytes of ``fig`` in format ``fmt`` with deterministic metadata."""
    buffer = io.BytesIO()
    with mpl.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
        fig.savefig(buffer, format=fmt, dpi=PNG_DPI, metadata=METADATA[fmt])
    return buffer.getvalue()


def save_figure(fig, name, *, caption):
    """Save ``fig`` as ``figures/<name>.pdf``, ``.svg`` and ``.png``.

    Args:
        fig: the matplotlib figure.
        name: ``"NN-slug"``, the two-digit notebook number, then a
            lowercase kebab-case slug, e.g. ``"01-loss-and-gradient"``.
        caption: one or two sentences for the figures index. Keep titles out
            of the figure itself: they belong in the caption.

    Returns:
        The list of the three paths.

    Raises:
        ValueError: if ``name`` or ``caption`` is malformed.
        AssertionError: in check mode (``BCELAB_FIGURES_CHECK=1``) if a file
            is missing or its bytes differ from what this figure renders to.
    """
    if not isinstance(name, str) or not FIGURE_NAME.match(name):
        raise ValueError(
            f"figure name must look like '01-loss-and-gradient' "
            f"(two digits, a hyphen, lowercase kebab-case); got {name!r}"
        )
    if not isinstance(caption, str) or not caption.strip():
        raise ValueError(f"caption must be a non-empty string; got {caption!r}")

    folder = figures_dir()
    check_only = os.environ.get("BCELAB_FIGURES_CHECK") == "1"
    paths = []
    stale = []
    for fmt in FORMATS:
        path = folder / f"{name}.{fmt}"
        data = render(fig, fmt)
        if check_only:
            if not path.exists() or path.read_bytes() != data:  # missing or different
                stale.append(path.name)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        paths.append(path)
    if stale:
        raise AssertionError(
            f"committed figures differ from what the notebook draws: {', '.join(stale)}; "
            f"run `make figures` and commit the result"
        )
    return paths
