"""JupyterLab in headless Chromium: notebook 00 runs through the UI, every notebook renders.

Notebook 00 is opened at the README's Binder urlpath, its outputs are cleared
and Run > Run All Cells is clicked, as a learner would. The test then reads the
result from the notebook model (window.jupyterapp). The model is needed because
JupyterLab 4.6 renders an error output and a stderr stream with the same DOM:
``.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]``.
"""

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

import markdown_anchors

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
RUN_ALL_TIMEOUT_MS = 300_000
KERNEL_READY_TIMEOUT_MS = 120_000
RENDER_TIMEOUT_MS = 60_000

CURRENT_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

KERNEL_IDLE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const session = panel && panel.sessionContext;
  const kernel = session && session.isReady && session.session && session.session.kernel;
  return Boolean(kernel) && kernel.status === 'idle';
}"""

# True once the kernel is idle and either every code cell has an execution count
# or a cell raised (Run All stops at the first error).
RUN_FINISHED = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') { return false; }
  const cells = panel.content.model.cells;
  let counted = true;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') { continue; }
    for (let j = 0; j < cell.outputs.length; j++) {
      if (cell.outputs.get(j).type === 'error') { return true; }
    }
    if (cell.executionCount === null) { counted = false; }
  }
  return counted;
}"""

CODE_CELLS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  const result = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') { continue; }
    const outputs = [];
    for (let j = 0; j < cell.outputs.length; j++) { outputs.push(cell.outputs.get(j).toJSON()); }
    result.push({index: i + 1, executionCount: cell.executionCount, outputs: outputs});
  }
  return result;
}"""


def binder_urlpath():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"https://mybinder\.org/v2/[^)\s\"']+", readme)
    assert match, "README.md has no mybinder.org launch link"
    return parse_qs(urlparse(match.group(0)).query)["urlpath"][0]


def open_notebook(context, lab, urlpath, cell_count):
    """Open ``urlpath`` (e.g. lab/tree/notebooks/00-start-here.ipynb) in a new tab, workspace reset.

    Returns once all ``cell_count`` cells are in the DOM: Lab attaches them in batches.
    """
    page = context.new_page()
    page.set_default_timeout(RENDER_TIMEOUT_MS)
    page.goto(f"{lab['base_url']}/{urlpath}?reset&token={lab['token']}")
    page.wait_for_function(
        "([selector, count]) => document.querySelectorAll(selector).length === count",
        arg=[f"{CURRENT_PANEL} .jp-Cell", cell_count],
    )
    return page


def click_menu(page, menu, command):
    page.locator(".lm-MenuBar-item", has_text=re.compile(f"^{menu}$")).click()
    page.click(f"li.lm-Menu-item[data-command='{command}']")


# Lab shows a collapsed input (cell metadata jupyter.source_hidden, as the
# exercise solutions have) as a placeholder without the "[n]:" prompt.
COLLAPSED = "collapsed"

INPUT_PROMPTS = """(selector) => Array.from(document.querySelectorAll(selector)).map(cell => {
  const prompt = cell.querySelector('.jp-InputArea-prompt');
  if (prompt) { return prompt.textContent; }
  return cell.querySelector('.jp-Placeholder-prompt') ? 'collapsed' : null;
})"""


def input_prompts(page):
    """Return each code cell's prompt text as rendered (textContent), or COLLAPSED."""
    return page.evaluate(INPUT_PROMPTS, f"{CURRENT_PANEL} .jp-CodeCell")


def expected_prompts(code_cells, counts):
    """Return the prompts Lab shows for ``code_cells`` (nbformat dicts) with execution ``counts``."""
    prompts = []
    for cell, count in zip(code_cells, counts):
        if cell["metadata"].get("jupyter", {}).get("source_hidden"):
            prompts.append(COLLAPSED)
        else:
            prompts.append(f"[{' ' if count is None else count}]:")
    return prompts


def describe(output):
    if output["output_type"] == "error":
        return f"{output['ename']}: {output['evalue']}"
    return "".join(output.get("text", ""))


def notebook_cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_start_notebook_runs_all_cells_in_lab(browser_context, lab, artifacts_dir):
    urlpath = binder_urlpath()
    path = ROOT / urlpath.removeprefix("lab/tree/")
    cells = notebook_cells(path)
    code_cell_count = sum(cell["cell_type"] == "code" for cell in cells)
    page = open_notebook(browser_context, lab, urlpath, len(cells))
    page.wait_for_function(KERNEL_IDLE, timeout=KERNEL_READY_TIMEOUT_MS)

    # Start from a notebook without outputs, so every output checked below comes from this run.
    click_menu(page, "Edit", "editmenu:clear-all")
    cleared = page.evaluate(CODE_CELLS)
    assert [cell["executionCount"] for cell in cleared] == [None] * code_cell_count
    assert all(not cell["outputs"] for cell in cleared)

    click_menu(page, "Run", "runmenu:run-all")
    page.wait_for_function(RUN_FINISHED, timeout=RUN_ALL_TIMEOUT_MS)
    run_cells = page.evaluate(CODE_CELLS)
    notebook_area = page.locator(f"{CURRENT_PANEL} .jp-WindowedPanel-outer")
    notebook_area.evaluate("element => element.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts_dir / f"{path.stem}-lab.png"))
    notebook_area.screenshot(path=str(artifacts_dir / f"{path.stem}.png"))

    errors = [
        f"cell {cell['index']}: {describe(output)}"
        for cell in run_cells for output in cell["outputs"] if output["output_type"] == "error"
    ]
    assert not errors, "cells raised in JupyterLab:\n" + "\n".join(errors)

    stderr = [
        f"cell {cell['index']}: {describe(output)}"
        for cell in run_cells for output in cell["outputs"]
        if output["output_type"] == "stream" and output["name"] == "stderr"
    ]
    assert not stderr, "cells wrote to stderr in JupyterLab:\n" + "\n".join(stderr)

    counts = [cell["executionCount"] for cell in run_cells]
    assert counts == list(range(1, code_cell_count + 1)), f"execution counts after Run All: {counts}"
    code_cells = [cell for cell in cells if cell["cell_type"] == "code"]
    assert input_prompts(page) == expected_prompts(code_cells, counts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_renders_in_lab(browser_context, lab, path):
    cells = notebook_cells(path)
    page = open_notebook(browser_context, lab, f"lab/tree/notebooks/{path.name}", len(cells))
    panel = page.locator(CURRENT_PANEL)

    # Every Markdown cell rendered, with the heading anchors that the links test expects.
    markdown_count = sum(cell["cell_type"] == "markdown" for cell in cells)
    assert panel.locator(".jp-MarkdownCell .jp-RenderedMarkdown").count() == markdown_count
    rendered_ids = panel.locator("[data-jupyter-id]").evaluate_all(
        "elements => elements.map(element => element.getAttribute('data-jupyter-id'))"
    )
    predicted = markdown_anchors.jupyterlab_heading_ids(path)
    assert len(rendered_ids) == len(predicted), rendered_ids
    for rendered, expected in zip(rendered_ids, predicted):
        if expected is not None:  # None: a heading with math, whose id MathJax decides
            assert rendered == expected

    # The committed outputs are shown: execution counts in the prompts, and every PNG loads.
    code_cells = [cell for cell in cells if cell["cell_type"] == "code"]
    counts = [cell["execution_count"] for cell in code_cells]
    assert input_prompts(page) == expected_prompts(code_cells, counts)
    png_outputs = sum(
        "image/png" in output.get("data", {})
        for cell in cells if cell["cell_type"] == "code" for output in cell["outputs"]
    )
    images = panel.locator(".jp-RenderedImage img")
    assert images.count() == png_outputs
    if png_outputs:
        images.evaluate_all("elements => Promise.all(elements.map(element => element.decode()))")
    widths = images.evaluate_all("elements => elements.map(element => element.naturalWidth)")
    assert all(width > 0 for width in widths), widths
    page.close()
