"""Execute every notebook in place, in order, and rewrite figures/ (``make figures``).

The notebooks are saved with deterministic bytes: no timing metadata, the
kernelspec ``python3`` and only the language name in ``language_info``, so a
second run changes nothing in git.

Cells whose first line is ``# NBVAL_IGNORE_OUTPUT`` measure time. Their
committed output is kept when their source is unchanged, because fresh timings
would differ on every run; pass ``--refresh-timings`` to record new ones.
The measured ratios that the series cites live in bench/RESULTS.md.
"""

import argparse
import copy
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def normalise_metadata(notebook):
    """Keep only metadata that does not vary between machines and runs."""
    notebook.metadata = nbformat.from_dict({
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
    })
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)


IGNORE_OUTPUT_MARK = "# NBVAL_IGNORE_OUTPUT"


def timing_outputs(notebook):
    """Map the source of each timing cell to its outputs."""
    return {
        cell.source: copy.deepcopy(cell.outputs)
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.source.startswith(IGNORE_OUTPUT_MARK)
    }


def execute(path, refresh_timings=False):
    """Run one notebook with its own folder as the working directory."""
    notebook = nbformat.read(path, as_version=4)
    committed_timings = {} if refresh_timings else timing_outputs(notebook)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=600,
        record_timing=False,
        coalesce_streams=True,  # one stdout output per cell, however the kernel split the writes
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source in committed_timings:
            cell.outputs = committed_timings[cell.source]
    normalise_metadata(notebook)
    nbformat.write(notebook, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook file names in notebooks/ (default: all)")
    parser.add_argument("--refresh-timings", action="store_true",
                        help="replace the committed output of timing cells with fresh measurements")
    args = parser.parse_args()

    os.environ.pop("BCELAB_FIGURES_CHECK", None)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    names = args.names or [path.name for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))]
    for name in names:
        path = NOTEBOOKS / name
        start = time.perf_counter()
        execute(path, refresh_timings=args.refresh_timings)
        print(f"{path.name}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
