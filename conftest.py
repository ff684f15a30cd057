"""pytest configuration shared by tests/ and the notebooks that nbval runs."""

import os

# Kernels started by nbval inherit this environment: figures are compared with
# the committed files instead of being written (see bcelab.figures).
os.environ["BCELAB_FIGURES_CHECK"] = "1"
os.environ.setdefault("PYTHONHASHSEED", "0")
