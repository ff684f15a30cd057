"""Measure the series and write bench/RESULTS.md (``make bench``).

Two measurements:

- each notebook's execution: wall time from kernel start to kernel shutdown,
  and the kernel's peak resident set size. Each run is a new subprocess that
  executes the notebook with nbclient, saves no outputs and sends figures to a
  temporary folder. It reports ``getrusage(RUSAGE_CHILDREN)`` once the kernel
  has exited and been reaped, so the peak belongs to that notebook's kernel;
- the loss-plus-gradient throughput of the candidate implementations, from
  bench/throughput.py, as ratios to the textbook numpy form.

Usage:
    python bench/run.py                 # all notebooks, 3 runs each, and the throughput
    python bench/run.py --repeats 1 02-reproduce-the-blow-up.ipynb
"""

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTEBOOKS = ROOT / "notebooks"
RESULTS = HERE / "RESULTS.md"

# The series' per-notebook budget (its notebook conventions): at most 15 s and 600 MB peak RSS.
BUDGET_SECONDS = 15.0
BUDGET_MEGABYTES = 600.0


def execute_one(path):
    """Execute one notebook in this process's child kernel; print time and peak RSS as JSON."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    # ru_maxrss is in KiB on Linux; for RUSAGE_CHILDREN it is the largest reaped child: the kernel.
    kernel_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "kernel_peak_rss_bytes": kernel_kib * 1024}))


def measure_notebook(path, repeats):
    """Run ``path`` ``repeats`` times, each in a new subprocess; return the measurements."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="bcelab-bench-figures-") as figures_dir:
        env = dict(os.environ, BCELAB_FIGURES_DIR=figures_dir, PYTHONHASHSEED="0")
        env.pop("BCELAB_FIGURES_CHECK", None)
        for _ in range(repeats):
            result = subprocess.run(
                [sys.executable, __file__, "--execute-one", str(path)],
                env=env, capture_output=True, text=True, check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"{path.name} failed to execute:\n{result.stderr}")
            runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    seconds = [run["seconds"] for run in runs]
    return {
        "notebook": path.name,
        "runs": repeats,
        "median_seconds": statistics.median(seconds),
        "min_seconds": min(seconds),
        "max_seconds": max(seconds),
        "peak_rss_megabytes": max(run["kernel_peak_rss_bytes"] for run in runs) / 1e6,
    }


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def machine_rows():
    import numpy as np

    memory = memory_gib()
    rows = [
        ("CPU", cpu_model()),
        ("cores (os.cpu_count)", str(os.cpu_count())),
        ("memory", f"{memory:.1f} GiB" if memory else "unknown"),
        ("operating system", platform.platform()),
        ("Python", platform.python_version()),
        ("numpy", np.__version__),
    ]
    # OpenBLAS kernel overrides change numpy's speed; record them when the environment sets them.
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS"):
        if name in os.environ:
            rows.append((name, os.environ[name]))
    return rows


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def notebook_section(results, repeats):
    rows = []
    for result in results:
        within = result["median_seconds"] <= BUDGET_SECONDS and result["peak_rss_megabytes"] <= BUDGET_MEGABYTES
        rows.append((
            result["notebook"],
            f"{result['median_seconds']:.1f}",
            f"{result['min_seconds']:.1f}–{result['max_seconds']:.1f}",
            f"{result['peak_rss_megabytes']:.0f}",
            "yes" if within else "**no**",
        ))
    return [
        "## Notebook execution",
        "",
        f"Each notebook was executed headless with nbclient in a new kernel, {repeats} time(s), without",
        "saving outputs. Time is the wall time from kernel start to kernel shutdown; peak RSS is the",
        "largest resident set of the kernel process over those runs. The series' budget per notebook",
        f"is {BUDGET_SECONDS:.0f} s and {BUDGET_MEGABYTES:.0f} MB.",
        "",
        *markdown_table(
            ("notebook", "median time (s)", "range (s)", "kernel peak RSS (MB)", "within budget"), rows
        ),
        "",
    ]


def throughput_section(rows):
    table = []
    for row in rows:
        target = "" if row["target"] is None else f"≤ {row['target']:.1f}"
        if row["meets_target"] is None:
            meets = ""
        else:
            meets = "yes" if row["meets_target"] else "**no**"
        table.append((row["dtype"], row["method"], f"{row['seconds'] * 1e3:.1f}", f"{row['ratio']:.2f}", target, meets))
    n = rows[0]["n"] if rows else 0
    return [
        "## Loss and gradient throughput",
        "",
        f"Loss plus gradient on {n:,} logits (bench/throughput.py). Time is the minimum over",
        "interleaved runs; the ratio divides it by the time of the textbook numpy form of the same",
        "dtype. Libraries that are not installed (scipy, torch) are left out.",
        "",
        *markdown_table(("dtype", "method", "time (ms)", "ratio to naive", "target", "meets target"), table),
        "",
    ]


def render_page(notebook_results, repeats, throughput_rows, started):
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (bench/run.py) on {started:%Y-%m-%d} at {started:%H:%M} UTC.",
        "Run it again to replace this page; numbers from another machine are not comparable.",
        "",
        "## Machine",
        "",
        *markdown_table(("", ""), machine_rows()),
        "",
        *notebook_section(notebook_results, repeats),
        *throughput_section(throughput_rows),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook file names in notebooks/ (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per notebook (default: 3)")
    parser.add_argument("--execute-one", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.execute_one:
        execute_one(Path(args.execute_one))
        return 0
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; got {args.repeats}")

    started = datetime.datetime.now(datetime.timezone.utc)
    names = args.names or [path.name for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))]
    notebook_results = []
    for name in names:
        result = measure_notebook(NOTEBOOKS / name, args.repeats)
        print(f"{name}: median {result['median_seconds']:.1f} s, peak RSS {result['peak_rss_megabytes']:.0f} MB")
        notebook_results.append(result)

    sys.path.insert(0, str(HERE))
    from throughput import measure_throughput

    throughput_rows = measure_throughput()
    for row in throughput_rows:
        print(f"{row['dtype']} {row['method']}: ratio {row['ratio']:.2f}")

    RESULTS.write_text(render_page(notebook_results, args.repeats, throughput_rows, started), encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
