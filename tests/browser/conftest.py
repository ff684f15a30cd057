"""Fixtures for the JupyterLab browser test: a Lab server on loopback and headless Chromium.

The test needs Playwright and Debian's chromium, which `make test` does not
install: `make browser-test` builds build/browser-venv from requirements.txt
here and runs pytest with this folder's pytest.ini. Under any other
configuration (the repository's `make test`) this folder is not collected.

Environment variables:

``BCELAB_JUPYTER``
    The ``jupyter`` executable that serves Lab (default: the repository's
    ``.venv/bin/jupyter``, the environment learners get from ``make lab``).
``BCELAB_CHROMIUM``
    The browser binary (default ``/usr/bin/chromium``, Debian's package).
``BCELAB_BROWSER_ARTIFACTS``
    Folder for screenshots and the server log (default ``build/browser``).
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))  # tests/, for markdown_anchors

SERVER_START_TIMEOUT_S = 90
SERVER_STOP_TIMEOUT_S = 20

# Flags for Chromium running as root in a container: no sandbox (it needs user
# namespaces), no GPU, and none of the background requests to Google services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Server and Lab settings that keep the test on loopback and make nothing reach
# the internet: no news feed, no update check, no extension manager queries.
SERVER_CONFIG = {
    "ServerApp": {
        "ip": "127.0.0.1",
        "open_browser": False,
        "port_retries": 0,
        "allow_root": True,
    },
    "LabApp": {
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "extension_manager": "readonly",
        # window.jupyterapp gives the test the notebook model. Only the model
        # distinguishes an error output from a stderr stream: the DOM renders both alike.
        "expose_app_in_browser": True,
    },
}
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def pytest_ignore_collect(collection_path, config):
    """Collect this folder only when pytest runs with this folder's pytest.ini."""
    if config.inipath != HERE / "pytest.ini":
        return True
    return None


def free_loopback_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def file_digests(*folders):
    """Return ``{path: sha256}`` for every file under ``folders``."""
    return {
        str(path.relative_to(ROOT)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders for path in sorted(folder.rglob("*")) if path.is_file()
    }


def write_config(folder):
    config_dir = folder / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG, indent=1))
    settings_dir = folder / "settings"
    for name, settings in LAB_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    return config_dir, settings_dir


def wait_until_serving(process, url, log_path):
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"jupyter lab did not answer {url} within {SERVER_START_TIMEOUT_S} s; see {log_path}")


def stop_server(process):
    """Stop the server and the kernels it started (its process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def artifacts_dir():
    folder = Path(os.environ.get("BCELAB_BROWSER_ARTIFACTS", ROOT / "build" / "browser"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def lab(tmp_path_factory, artifacts_dir):
    """Serve a copy of notebooks/ and figures/ with JupyterLab; yield its base URL and token.

    Lab works on the copy, so running cells or an autosave cannot change the
    committed notebooks, and BCELAB_FIGURES_DIR sends save_figure's files to a
    temporary folder instead of figures/.
    """
    jupyter = os.environ.get("BCELAB_JUPYTER", str(ROOT / ".venv" / "bin" / "jupyter"))
    folder = tmp_path_factory.mktemp("lab")
    served = folder / "served"
    for name in ("notebooks", "figures"):
        shutil.copytree(ROOT / name, served / name)
    config_dir, settings_dir = write_config(folder)

    env = dict(os.environ)
    env.pop("BCELAB_FIGURES_CHECK", None)
    env.update({
        "BCELAB_FIGURES_DIR": str(folder / "figures-written"),
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
        "JUPYTERLAB_WORKSPACES_DIR": str(folder / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
    })
    port = free_loopback_port()
    token = secrets.token_hex(24)
    log_path = artifacts_dir / "jupyter-lab.log"
    before = file_digests(ROOT / "notebooks", ROOT / "figures")

    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [jupyter, "lab", f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={served}"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so stop_server also ends the kernels
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_serving(process, f"{base_url}/api/status?token={token}", log_path)
        yield {"base_url": base_url, "token": token, "figures_written": folder / "figures-written"}
    finally:
        stop_server(process)
    after = file_digests(ROOT / "notebooks", ROOT / "figures")
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    assert not changed, f"files changed while the browser test ran: {changed}"


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("BCELAB_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.fail(f"{executable} not found: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
