"""Relative links in the README, figures/README.md and notebook Markdown cells resolve.

A link resolves when its file (or folder) exists inside the repository and, where
it names an anchor, the target defines that anchor: by GitHub's rule in ``.md``
files and by JupyterLab's rule in notebooks (see markdown_anchors.py). External
links (``https:``, ``mailto:``) are not fetched: the tests run offline.
"""

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

import markdown_anchors

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MARKDOWN_FILES = [path for path in (ROOT / "README.md", ROOT / "figures" / "README.md") if path.exists()]
BINDER_BADGE = re.compile(r"https://mybinder\.org/v2/[^)\s\"']+")


def documents():
    """Yield ``(path, label, markdown)`` for each Markdown text whose links are checked."""
    for path in MARKDOWN_FILES:
        yield path, path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        for index, markdown in enumerate(markdown_anchors.notebook_markdown_cells(path)):
            yield path, f"{path.relative_to(ROOT).as_posix()} (Markdown cell {index + 1})", markdown


def relative_links():
    links = []
    for path, label, markdown in documents():
        for target in markdown_anchors.link_targets(markdown):
            if not markdown_anchors.is_external(target):
                links.append(pytest.param(path, target, id=f"{label} -> {target}"))
    return links


def anchors_of(path):
    if path.suffix == ".ipynb":
        return markdown_anchors.notebook_anchors(path)
    return markdown_anchors.github_anchors(path.read_text(encoding="utf-8"))


def test_readme_exists():
    assert (ROOT / "README.md").is_file()


def test_some_relative_links_found():
    # Guards against a parser change that silently finds no links at all.
    assert len(relative_links()) >= len(NOTEBOOKS)


@pytest.mark.parametrize("source, target", relative_links())
def test_relative_link_resolves(source, target):
    file_part, _, anchor = target.partition("#")
    file_part = unquote(file_part.split("?", 1)[0])
    resolved = (source.parent / file_part).resolve() if file_part else source

    assert resolved.is_relative_to(ROOT), f"{target} points outside the repository"
    assert resolved.exists(), f"{target} not found (resolved to {resolved.relative_to(ROOT)})"
    if anchor:
        assert resolved.is_file(), f"{target}: an anchor needs a file, not a folder"
        anchors = anchors_of(resolved)
        assert unquote(anchor) in anchors, f"{target}: no heading with anchor #{anchor}; found {sorted(anchors)}"


def test_binder_badge_urlpath_names_existing_notebook():
    badges = BINDER_BADGE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert badges, "README.md has no mybinder.org launch link"
    for badge in badges:
        query = parse_qs(urlparse(badge).query)
        assert "urlpath" in query, f"{badge}: no urlpath parameter"
        urlpath = query["urlpath"][0]
        assert urlpath.startswith("lab/tree/notebooks/"), f"{badge}: urlpath must open JupyterLab on a notebook"
        assert urlpath.endswith(".ipynb"), urlpath
        assert (ROOT / urlpath.removeprefix("lab/tree/")).is_file(), f"{urlpath}: notebook not found"


# The anchor rules themselves. The JupyterLab column is what JupyterLab 4.6 put in
# data-jupyter-id for these headings. The GitHub column follows GitHub's documented
# rule for section links: lowercase, punctuation removed, spaces to hyphens.
@pytest.mark.parametrize("heading, github, jupyterlab", [
    ("## 00 — Start here", "00--start-here", "00-—-Start-here"),
    ("## Section: one, two & three", "section-one-two--three", "Section:-one,-two-&-three"),
    ("### Why `x` = 1?", "why-x--1", "Why-x-=-1?"),
    ("## The [`pos_weight`](https://example.org) argument", "the-pos_weight-argument", "The-pos_weight-argument"),
    ("## **Bold** and *emphasis*", "bold-and-emphasis", "Bold-and-emphasis"),
])
def test_anchor_rules(heading, github, jupyterlab):
    (text,) = markdown_anchors.heading_texts(heading)
    assert markdown_anchors.github_anchor(text) == github
    assert markdown_anchors.jupyterlab_anchor(text) == jupyterlab


def test_github_anchors_number_repeated_headings():
    anchors = markdown_anchors.github_anchors("## Notes\n\ntext\n\n## Notes\n")
    assert anchors == {"notes", "notes-1"}


def test_link_targets_skip_code():
    markdown = "See [a](a.md) and `[b](b.md)`.\n\n```\n[c](c.md)\n```\n[d]: d.md\n<a href=\"e.md\">e</a>"
    assert markdown_anchors.link_targets(markdown) == ["a.md", "d.md", "e.md"]


def test_link_targets_balanced_parentheses():
    markdown = '[f](f.ipynb#Where-σ(z)-is-1) then ([g](g.md "title")).'
    assert markdown_anchors.link_targets(markdown) == ["f.ipynb#Where-σ(z)-is-1", "g.md"]
