"""bcelab: the tested implementations behind the notebook series.

Modules, one per concept:

- ``figures``: house style and :func:`figures.save_figure`.
- ``tables``: formatting numbers and generated tables for notebook outputs.
"""

__version__ = "0.1.0"
