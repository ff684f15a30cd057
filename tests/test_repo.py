"""Repository checks: launch badge, table of contents, pins and the commands CI relies on."""

import json
import re
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NOTEBOOK_NAME = re.compile(r"^[0-9]{2}-[a-z0-9]+(-[a-z0-9]+)*\.ipynb$")
BADGE = re.compile(r"\((https://mybinder\.org/v2/gh/[^)\s]+)\)")


def test_notebooks_exist():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_name_numbered_kebab_case(path):
    assert NOTEBOOK_NAME.match(path.name), path.name


def test_notebook_numbers_consecutive():
    numbers = [int(path.name[:2]) for path in NOTEBOOKS]
    assert numbers == list(range(len(numbers)))


def test_badge_opens_lab_on_first_notebook():
    badges = BADGE.findall(README)
    assert len(badges) == 1, badges
    url = urlparse(badges[0])
    assert url.path.endswith("/main"), url.path
    urlpath = parse_qs(url.query)["urlpath"][0]
    assert urlpath.startswith("lab/tree/"), urlpath
    target = ROOT / urlpath.removeprefix("lab/tree/")
    assert target.is_file(), urlpath
    assert target == NOTEBOOKS[0]


def linked_notebooks(markdown, prefix):
    pattern = re.compile(r"\]\(" + re.escape(prefix) + r"([0-9]{2}-[^)#\s]+\.ipynb)\)")
    return set(pattern.findall(markdown))


def test_readme_lists_every_notebook():
    listed = linked_notebooks(README, "notebooks/")
    assert listed == {path.name for path in NOTEBOOKS}


def test_start_notebook_roadmap_lists_every_notebook():
    start = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    roadmap = [
        "".join(cell["source"]) for cell in start["cells"]
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("## Roadmap")
    ]
    assert len(roadmap) == 1
    listed = linked_notebooks(roadmap[0], "") | {NOTEBOOKS[0].name}
    assert listed == {path.name for path in NOTEBOOKS}


def pinned_lines():
    lines = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [(i, line) for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]


def test_binder_requirements_pinned_exactly():
    for _, line in pinned_lines():
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][A-Za-z0-9.]*", line.strip()), line


def test_binder_requirements_each_pin_commented():
    # A pin may share the comment of the group it sits in, directly above it.
    lines = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    for index, line in pinned_lines():
        above = index - 1
        while above >= 0 and "==" in lines[above] and not lines[above].startswith("#"):
            above -= 1
        assert above >= 0, f"pin without a comment: {line}"
        assert lines[above].startswith("# "), f"pin without a comment: {line}"


def test_binder_requirements_cover_output_packages():
    names = {line.split("==")[0].lower() for _, line in pinned_lines()}
    expected = {"numpy", "matplotlib", "sympy", "mpmath", "ipykernel", "ipython",
                "matplotlib-inline", "jupyterlab", "nbval", "pytest"}
    assert expected <= names, expected - names


def test_binder_requirements_leave_out_editable_install():
    assert not any(line.strip().startswith("-e") for _, line in pinned_lines())


def test_root_requirements_include_binder_pins():
    lines = [l.strip() for l in (ROOT / "requirements.txt").read_text().splitlines() if l.strip()]
    assert lines == ["-r binder/requirements.txt"]


def test_binder_runtime_python_311():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_postbuild_stops_on_error_and_installs_bcelab():
    path = ROOT / "binder" / "postBuild"
    text = path.read_text()
    assert path.stat().st_mode & stat.S_IXUSR
    assert re.search(r"^set -e", text, re.MULTILINE)
    assert re.search(r"pip install .*-e \.$", text, re.MULTILINE)


def test_ci_runs_make_test():
    text = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\s*make test\b", text, re.MULTILINE)
    assert "set -euo pipefail" in text


def test_readme_names_the_two_commands():
    assert "make figures" in README
    assert "make test" in README


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_saved_executed_with_python3_kernel(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    counts = [cell["execution_count"] for cell in code_cells]
    assert counts == list(range(1, len(code_cells) + 1)), "run the notebook top to bottom (make figures)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_downloads_nothing(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
    for forbidden in ("urllib", "requests", "urlopen", "http://", "https://", "wget", "curl ", "!pip"):
        assert forbidden not in code, forbidden


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_summary_exercises_references(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    headings = [
        line for cell in notebook["cells"] if cell["cell_type"] == "markdown"
        for line in "".join(cell["source"]).splitlines() if line.startswith("## ")
    ]
    for section in ("## Summary", "## Exercises", "## References"):
        assert any(h.startswith(section) for h in headings), section
