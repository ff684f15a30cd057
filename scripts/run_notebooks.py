"""Execute every notebook in place, in order, and rewrite figures/ (``make figures``).

The notebooks are saved with deterministic bytes: no timing metadata, the
kernelspec ``python3`` and only the language name in ``language_info``, so a
second run changes nothing in git.
"""

import os
import sys
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


def execute(path):
    """Run one notebook with its own folder as the working directory."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=600,
        record_timing=False,
        coalesce_streams=True,  # one stdout output per cell, however the kernel split the writes
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    normalise_metadata(notebook)
    nbformat.write(notebook, path)


def main(names):
    os.environ.pop("BCELAB_FIGURES_CHECK", None)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    paths = [NOTEBOOKS / name for name in names] if names else sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    for path in paths:
        start = time.perf_counter()
        execute(path)
        print(f"{path.name}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
