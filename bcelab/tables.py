"""Generated tables and number formatting for notebook outputs.

Notebook outputs must re-execute byte for byte on another machine, so
floats are shown with a stated number of significant digits, never as reprs.
"""

import math

from IPython.display import Markdown, display


def sig(value, digits=4):
    """Format a number with ``digits`` significant digits (inf and nan spelled out)."""
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def markdown_table(headers, rows):
    """Return a Markdown table; cells are converted with ``str``."""
    lines = [
        "| " + " | ".join(str(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row has {len(row)} cells, expected {len(headers)}: {row!r}")
        cells = [str(cell).replace("|", "\\|") for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def show_table(headers, rows):
    """Display a Markdown table in the notebook."""
    display(Markdown(markdown_table(headers, rows)))
