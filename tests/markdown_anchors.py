"""Links and heading anchors in Markdown, as GitHub and JupyterLab resolve them.

Only the standard library is used, so the browser test (which runs in its own
virtual environment) can import this module and compare the anchors computed
here with the ``data-jupyter-id`` attributes that JupyterLab renders.

Anchor rules:

- GitHub (README.md and other ``.md`` files): the heading's text, lowercased;
  every character that is not a letter, digit, underscore, hyphen or space is
  dropped, then each space becomes a hyphen. ``## 00 — Start here`` becomes
  ``00--start-here`` (the em dash is dropped, both spaces stay). A repeated
  anchor gets ``-1``, ``-2``, ... appended.
- JupyterLab 4 (Markdown cells of ``.ipynb`` files): the heading's rendered
  text with each space replaced by a hyphen; case and punctuation are kept.
  ``## 00 — Start here`` becomes ``00-—-Start-here``. Checked against the DOM
  that JupyterLab 4.6 renders, by tests/browser/test_jupyterlab.py.

Both rules also accept explicit HTML anchors (``<a id="...">``, ``<a name="...">``).
"""

import html
import json
import re
from pathlib import Path

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
HTML_TAG = re.compile(r"<[^>]+>")
INLINE_MATH = re.compile(r"\$[^$]+\$|\\\(.+?\\\)")
HTML_ANCHOR = re.compile(r"<a\s[^>]*\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)

# Inline links and images: [text](target "optional title") or [text](<target>). As in
# CommonMark, a target may contain balanced parentheses: [σ](#Where-σ(z)-is-1).
INLINE_TARGET = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|(?:[^()\s]|\([^()\s]*\))+)(?:\s+[\"'(][^)]*)?\)"
)
# Reference definitions: [label]: target
REFERENCE_TARGET = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
HTML_TARGET = re.compile(r"<(?:a|img)\s[^>]*\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
# A target with a URL scheme (https:, mailto:) is external and not checked here.
EXTERNAL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def strip_code(markdown):
    """Return ``markdown`` with fenced code blocks and code spans blanked out."""
    kept = []
    fence = None
    for line in markdown.splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
            kept.append("")
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
            kept.append("")
        else:
            kept.append(line)
    return CODE_SPAN.sub("", "\n".join(kept))


def link_targets(markdown):
    """Return every link and image target in ``markdown``, in order, code excluded."""
    text = strip_code(markdown)
    targets = []
    for pattern in (INLINE_TARGET, REFERENCE_TARGET, HTML_TARGET):
        for match in pattern.finditer(text):
            target = match.group(1)
            if target.startswith("<") and target.endswith(">"):
                target = target[1:-1]
            targets.append(target)
    return targets


def is_external(target):
    return bool(EXTERNAL.match(target))


def heading_texts(markdown):
    """Return the rendered text of each ATX and setext heading in ``markdown``."""
    texts = []
    fence = None
    previous = ""
    for line in markdown.splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
        else:
            atx = ATX_HEADING.match(line)
            if atx:
                texts.append(rendered_text(atx.group(2) or ""))
            elif SETEXT_UNDERLINE.match(line) and previous.strip() and not ATX_HEADING.match(previous):
                texts.append(rendered_text(previous.strip()))
        previous = line if fence is None else ""
    return texts


def rendered_text(inline_markdown):
    """Return the text a browser shows for one line of inline Markdown (its textContent)."""
    text = CODE_SPAN.sub(lambda match: match.group(2).strip(), inline_markdown)
    text = IMAGE.sub("", text)
    text = LINK.sub(lambda match: match.group(1), text)
    text = STRONG.sub(lambda match: match.group(2), text)
    text = EMPHASIS.sub(lambda match: match.group(2), text)
    text = HTML_TAG.sub("", text)
    return html.unescape(text).strip()


def github_anchor(text):
    """Return the anchor GitHub gives a heading with rendered text ``text``."""
    allowed = "".join(ch for ch in text.lower() if ch.isalnum() or ch in "_- ")
    return allowed.replace(" ", "-")


def jupyterlab_anchor(text):
    """Return the anchor JupyterLab 4 gives a heading with rendered text ``text``."""
    return text.replace(" ", "-")


def github_anchors(markdown):
    """Return the set of anchors a GitHub-rendered Markdown file defines."""
    anchors = set(HTML_ANCHOR.findall(markdown))
    seen = {}
    for text in heading_texts(markdown):
        base = github_anchor(text)
        count = seen.get(base, 0)
        anchors.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return anchors


def notebook_markdown_cells(path):
    """Return the source of each Markdown cell of the notebook at ``path``."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            source = cell["source"]
            cells.append(source if isinstance(source, str) else "".join(source))
    return cells


def jupyterlab_heading_ids(path):
    """Return the heading ids JupyterLab renders for the notebook at ``path``, in order.

    A heading with TeX math gets ``None``: its id depends on MathJax's output.
    """
    return [
        None if INLINE_MATH.search(text) else jupyterlab_anchor(text)
        for markdown in notebook_markdown_cells(path)
        for text in heading_texts(markdown)
    ]


def notebook_anchors(path):
    """Return the set of anchors a notebook defines when opened in JupyterLab."""
    anchors = {anchor for anchor in jupyterlab_heading_ids(path) if anchor is not None}
    for markdown in notebook_markdown_cells(path):
        anchors.update(HTML_ANCHOR.findall(markdown))
    return anchors
