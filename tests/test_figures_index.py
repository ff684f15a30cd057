"""figures/README.md is current: it matches a fresh generation and lists every figure file."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "figures"

spec = importlib.util.spec_from_file_location("figures_index", ROOT / "scripts" / "figures_index.py")
figures_index = importlib.util.module_from_spec(spec)
spec.loader.exec_module(figures_index)


def figure_files():
    return sorted(path.name for path in FIGURES.iterdir() if path.name != "README.md")


def test_index_committed():
    assert figures_index.INDEX.is_file(), "figures/README.md is missing: run `make figures`"


def test_index_matches_fresh_generation():
    committed = figures_index.INDEX.read_text(encoding="utf-8")
    assert committed == figures_index.render_index(), "figures/README.md is out of date: run `make figures`"


def test_every_figure_file_indexed():
    indexed = {figure.name for figure in figures_index.collect_figures()}
    for name in figure_files():
        stem, _, fmt = name.rpartition(".")
        assert fmt in figures_index.FORMATS, f"figures/{name}: not a figure format {figures_index.FORMATS}"
        assert stem in indexed, f"figures/{name}: no notebook saves it; delete it or run `make figures`"


def test_every_indexed_figure_in_every_format():
    files = set(figure_files())
    for figure in figures_index.collect_figures():
        for fmt in figures_index.FORMATS:
            assert f"{figure.name}.{fmt}" in files, f"figures/{figure.name}.{fmt} is missing: run `make figures`"


def test_captions_not_empty():
    for figure in figures_index.collect_figures():
        assert figure.caption.strip(), figure.name


def write_notebook(folder, name, cells):
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / name).write_text(json.dumps(notebook), encoding="utf-8")


def markdown(source):
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def code(source):
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}


def test_collect_reads_section_and_cell(tmp_path):
    write_notebook(tmp_path, "03-sample.ipynb", [
        markdown("# 03 — A sample\n\nIntro."),
        code("x = 1"),
        markdown("## First section\n\ntext\n\n### A subsection"),
        code('%matplotlib inline\nsave_figure(fig, "03-curve", caption="A curve " "in two parts.")'),
    ])
    (figure,) = figures_index.collect_figures(tmp_path)
    assert figure.name == "03-curve"
    assert figure.caption == "A curve in two parts."
    assert figure.notebook_title == "03 — A sample"
    assert figure.section == "A subsection"
    assert figure.cell_number == 4


def test_collect_rejects_computed_caption(tmp_path):
    write_notebook(tmp_path, "03-sample.ipynb", [
        markdown("# 03 — A sample"),
        code('save_figure(fig, "03-curve", caption=make_caption())'),
    ])
    with pytest.raises(ValueError, match="caption as a string literal"):
        figures_index.collect_figures(tmp_path)


def test_collect_rejects_duplicate_name(tmp_path):
    write_notebook(tmp_path, "03-sample.ipynb", [
        markdown("# 03 — A sample"),
        code('save_figure(fig, "03-curve", caption="One.")'),
        code('save_figure(fig, "03-curve", caption="Two.")'),
    ])
    with pytest.raises(ValueError, match="already used"):
        figures_index.collect_figures(tmp_path)


def test_collect_rejects_other_notebook_number(tmp_path):
    write_notebook(tmp_path, "03-sample.ipynb", [
        markdown("# 03 — A sample"),
        code('save_figure(fig, "04-curve", caption="One.")'),
    ])
    with pytest.raises(ValueError, match="notebook number 03"):
        figures_index.collect_figures(tmp_path)


def test_short_title_drops_number():
    assert figures_index.short_title("01 — Deriving the gradient") == "Deriving the gradient"
    assert figures_index.short_title("Untitled") == "Untitled"
