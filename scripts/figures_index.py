"""Write figures/README.md, the index of every figure the notebooks save (``make figures``).

The index is generated from the notebooks themselves. Each
``save_figure(fig, "NN-slug", caption="...")`` call in a code cell gives one
entry: the caption, the notebook, the section (the nearest Markdown heading
above the cell), the cell number, the formats found in figures/, and a
citation line built from CITATION.cff. The name and caption must be string
literals so they can be read without running the notebook.

Usage:
    python scripts/figures_index.py           # rewrite figures/README.md
    python scripts/figures_index.py --check   # exit 1 if figures/README.md is out of date
"""

import argparse
import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
FIGURES = ROOT / "figures"
INDEX = FIGURES / "README.md"
CITATION = ROOT / "CITATION.cff"
CONTENT_LICENCE = ROOT / "LICENSE-CONTENT.md"

# Same order as bcelab.figures.FORMATS; kept here so the script needs no bcelab import.
FORMATS = ("pdf", "svg", "png")

sys.path.insert(0, str(ROOT / "tests"))
import markdown_anchors  # noqa: E402  (the anchor rule the links test checks)


@dataclass
class Figure:
    name: str
    caption: str
    notebook: Path
    notebook_title: str
    section: str
    cell_number: int


def cell_source(cell):
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def save_figure_calls(code, where):
    """Yield ``(name, caption)`` for each ``save_figure`` call in one code cell."""
    python = TransformerManager().transform_cell(code)  # IPython magics to plain Python
    for node in ast.walk(ast.parse(python)):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        called = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
        if called != "save_figure":
            continue
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        name = node.args[1] if len(node.args) > 1 else keywords.get("name")
        caption = keywords.get("caption")
        for label, value in (("name", name), ("caption", caption)):
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                raise ValueError(
                    f"{where}: save_figure needs its {label} as a string literal "
                    f"so the figures index can read it; got {ast.unparse(value) if value else 'nothing'}"
                )
        yield name.value, caption.value


def notebook_title(cells, path):
    for cell in cells:
        if cell["cell_type"] == "markdown":
            headings = markdown_anchors.heading_texts(cell_source(cell))
            if headings:
                return headings[0]
    raise ValueError(f"{path.name}: no Markdown heading to use as the notebook's title")


def collect_figures(notebooks_dir=NOTEBOOKS):
    """Return a :class:`Figure` for each ``save_figure`` call, in notebook and cell order."""
    figures = []
    seen = {}
    for path in sorted(notebooks_dir.glob("[0-9][0-9]-*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        title = notebook_title(cells, path)
        section = title
        for number, cell in enumerate(cells, start=1):
            source = cell_source(cell)
            if cell["cell_type"] == "markdown":
                headings = markdown_anchors.heading_texts(source)
                section = headings[-1] if headings else section
                continue
            if cell["cell_type"] != "code" or "save_figure" not in source:
                continue
            where = f"{path.name}, cell {number}"
            for name, caption in save_figure_calls(source, where):
                if not name.startswith(path.name[:3]):
                    raise ValueError(f"{where}: figure {name!r} must start with the notebook number {path.name[:2]}-")
                if name in seen:
                    raise ValueError(f"{where}: figure name {name!r} is already used in {seen[name]}")
                seen[name] = where
                figures.append(Figure(name, caption, path, title, section, number))
    return figures


def series_citation():
    """Return the series' reference as one line, from CITATION.cff."""
    citation = yaml.safe_load(CITATION.read_text(encoding="utf-8"))
    authors = ", ".join(
        author.get("name") or " ".join(filter(None, (author.get("given-names"), author.get("family-names"))))
        for author in citation["authors"]
    )
    parts = [f"{authors}, *{citation['title']}*"]
    if citation.get("version"):
        parts.append(f"version {citation['version']}")
    if citation.get("date-released"):
        parts[-1] += f" ({str(citation['date-released'])[:4]})"
    if citation.get("repository-code"):
        parts.append(f"<{citation['repository-code']}>")
    return ", ".join(parts)


def short_title(title):
    """Return a notebook title without its leading number: '01 — Deriving …' -> 'Deriving …'."""
    number, dash, rest = title.partition(" — ")
    return rest if dash and number.isdigit() else title


def render_entry(figure, citation, figures_dir):
    notebook_link = f"../notebooks/{figure.notebook.name}"
    section = f"section {figure.section}"
    # A heading with TeX math gets its anchor from MathJax's output, so it is named, not linked.
    if not markdown_anchors.INLINE_MATH.search(figure.section):
        section = f"section [{figure.section}]({notebook_link}#{markdown_anchors.jupyterlab_anchor(figure.section)})"
    present = [fmt for fmt in FORMATS if (figures_dir / f"{figure.name}.{fmt}").is_file()]
    formats = " · ".join(f"[{fmt.upper()}]({figure.name}.{fmt})" for fmt in present) or "none yet: run `make figures`"
    number = figure.notebook.name[:2]
    lines = [f"## {figure.name}", ""]
    if "png" in present:
        lines += [f'<img src="{figure.name}.png" alt="Figure {figure.name}" width="480">', ""]
    lines += [
        figure.caption,
        "",
        f"- Notebook: [{figure.notebook_title}]({notebook_link}), {section}, cell {figure.cell_number}",
        f"- Formats: {formats}",
        f"- Cite as: Figure {figure.name}, notebook {number} \"{short_title(figure.notebook_title)}\", in {citation}.",
        "",
    ]
    return lines


def render_index(figures=None, figures_dir=FIGURES):
    """Return the text of figures/README.md."""
    figures = collect_figures() if figures is None else figures
    citation = series_citation()
    lines = [
        "# Figures",
        "",
        "<!-- Generated by scripts/figures_index.py from the notebooks (make figures); do not edit. -->",
        "",
        "Every figure of the series, in the order the notebooks draw them. Each is saved by",
        "`bcelab.figures.save_figure` as PDF (fonts embedded), SVG and PNG (300 dpi), named",
        "`NN-slug` after the notebook `NN` that draws it.",
    ]
    if CONTENT_LICENCE.exists():
        lines.append(f"The figures' licence is stated in [{CONTENT_LICENCE.name}](../{CONTENT_LICENCE.name}).")
    lines.append("")
    if not figures:
        lines += ["No notebook saves a figure yet.", ""]
    for figure in figures:
        lines += render_entry(figure, citation, figures_dir)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if figures/README.md differs from a fresh generation")
    args = parser.parse_args(argv)
    text = render_index()
    if args.check:
        current = INDEX.read_text(encoding="utf-8") if INDEX.exists() else ""
        if current != text:
            print("figures/README.md is out of date: run `make figures` (or scripts/figures_index.py)", file=sys.stderr)
            return 1
        return 0
    INDEX.write_text(text, encoding="utf-8")
    print(f"wrote {INDEX.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
