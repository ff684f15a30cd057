"""The Binder configuration check runs only under `make binder-config`.

It needs jupyter-repo2docker, which `make test` does not install: `make
binder-config` builds build/repo2docker-venv from requirements.txt here and runs
pytest with this folder's pytest.ini. Under any other configuration (the
repository's `make test`) this folder is not collected.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path, config):
    """Collect this folder only when pytest runs with this folder's pytest.ini."""
    if config.inipath != HERE / "pytest.ini":
        return True
    return None
