"""Figure helper: names, deterministic bytes, and the stale-figure check that nbval relies on."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bcelab import figures


@pytest.fixture
def figure_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BCELAB_FIGURES_DIR", str(tmp_path))
    monkeypatch.delenv("BCELAB_FIGURES_CHECK", raising=False)
    return tmp_path


def draw(offset=0.0):
    figures.use_style()
    fig, ax = figures.new_figure("one")
    z = np.linspace(-8, 8, 201)
    ax.plot(z, 1 / (1 + np.exp(-z)) + offset, label="sigma")
    ax.set_xlabel("logit z")
    ax.legend()
    return fig


def test_save_twice_identical_bytes(figure_dir):
    fig = draw()
    first = {p.suffix: p.read_bytes() for p in figures.save_figure(fig, "99-sample", caption="A sample.")}
    second = {p.suffix: p.read_bytes() for p in figures.save_figure(fig, "99-sample", caption="A sample.")}
    plt.close(fig)
    assert set(first) == {".pdf", ".svg", ".png"}
    for suffix in first:
        assert first[suffix] == second[suffix], suffix


def test_two_figures_drawn_alike_identical_bytes(figure_dir):
    fig_a, fig_b = draw(), draw()
    for fmt in figures.FORMATS:
        assert figures.render(fig_a, fmt) == figures.render(fig_b, fmt), fmt
    plt.close("all")


def test_saved_files_carry_no_dates(figure_dir):
    fig = draw()
    paths = figures.save_figure(fig, "99-sample", caption="A sample.")
    plt.close(fig)
    contents = {p.suffix: p.read_bytes() for p in paths}
    assert b"CreationDate" not in contents[".pdf"]
    assert b"<dc:date>" not in contents[".svg"]
    assert b"Software" not in contents[".png"]


def test_pdf_embeds_truetype_fonts(figure_dir):
    fig = draw()
    pdf = figures.render(fig, "pdf")
    plt.close(fig)
    assert b"/FontFile2" in pdf  # an embedded TrueType font program


def test_png_is_300_dpi(figure_dir):
    fig = draw()
    png = figures.render(fig, "png")
    width_px = int.from_bytes(png[16:20], "big")
    plt.close(fig)
    assert width_px == round(figures.ONE_COLUMN * figures.PNG_DPI)


def test_check_mode_accepts_current_figure(figure_dir, monkeypatch):
    fig = draw()
    figures.save_figure(fig, "99-sample", caption="A sample.")
    monkeypatch.setenv("BCELAB_FIGURES_CHECK", "1")
    figures.save_figure(fig, "99-sample", caption="A sample.")
    plt.close(fig)


def test_check_mode_rejects_stale_figure(figure_dir, monkeypatch):
    old = draw()
    figures.save_figure(old, "99-sample", caption="A sample.")
    monkeypatch.setenv("BCELAB_FIGURES_CHECK", "1")
    new = draw(offset=0.1)
    with pytest.raises(AssertionError, match="99-sample.png"):
        figures.save_figure(new, "99-sample", caption="A sample.")
    plt.close("all")


def test_check_mode_writes_nothing(figure_dir, monkeypatch):
    monkeypatch.setenv("BCELAB_FIGURES_CHECK", "1")
    fig = draw()
    with pytest.raises(AssertionError, match="missing|differ"):
        figures.save_figure(fig, "99-sample", caption="A sample.")
    plt.close(fig)
    assert list(figure_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["1-short", "01_loss", "01-Loss", "01-", "loss", "01-loss.png", 7])
def test_bad_figure_name_rejected(figure_dir, name):
    fig = draw()
    with pytest.raises(ValueError, match="figure name"):
        figures.save_figure(fig, name, caption="A sample.")
    plt.close(fig)


@pytest.mark.parametrize("caption", ["", "   ", None])
def test_empty_caption_rejected(figure_dir, caption):
    fig = draw()
    with pytest.raises(ValueError, match="caption"):
        figures.save_figure(fig, "99-sample", caption=caption)
    plt.close(fig)


def test_new_figure_widths():
    for width, inches in (("one", figures.ONE_COLUMN), ("two", figures.TWO_COLUMNS)):
        fig, _ = figures.new_figure(width)
        assert fig.get_size_inches()[0] == pytest.approx(inches)
        plt.close(fig)
    with pytest.raises(ValueError, match="width"):
        figures.new_figure("three")
    with pytest.raises(ValueError, match="height"):
        figures.new_figure("one", height=-1)
