"""repo2docker, as Binder runs it, builds from binder/: requirements, Python 3.11, postBuild.

``repo2docker --no-build --debug DIR`` prints the Dockerfile it would build
without needing a container engine, so the configuration is checked offline.
The assertions read that output; the tests on temporary copies show that each
assertion notices a wrong configuration.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPO2DOCKER = Path(sys.executable).with_name("repo2docker")

# Printed by repo2docker's conda build pack (used for runtime.txt "python-X.Y") before the Dockerfile.
PYTHON_LINE = re.compile(r"^Building conda environment for python=(\S+)$", re.MULTILINE)
# The conda lock file for that Python version, copied into the image.
LOCK_FILE = re.compile(r"environment\.py-([0-9.]+)-linux-64\.lock")
PIP_REQUIREMENTS = re.compile(r'pip install --no-cache-dir -r "([^"]+)"')
POSTBUILD_RUN = re.compile(r"^RUN (\S*postBuild)$", re.MULTILINE)
# repo2docker's own install of a repository that has a setup.py at its root.
REPOSITORY_INSTALL = re.compile(r"pip install --no-cache-dir \.$", re.MULTILINE)


def repo2docker_output(folder):
    """Return what ``repo2docker --no-build --debug`` prints for ``folder``."""
    result = subprocess.run(
        [str(REPO2DOCKER), "--no-build", "--debug", str(folder)],
        capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"repo2docker failed with code {result.returncode}:\n{output}"
    return output


def python_versions(output):
    return set(PYTHON_LINE.findall(output)) | set(LOCK_FILE.findall(output))


def copy_repository_config(destination):
    """Copy the files repo2docker reads (binder/ and the root configuration) to ``destination``."""
    shutil.copytree(ROOT / "binder", destination / "binder")
    for name in ("requirements.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, destination / name)
    return destination


@pytest.fixture(scope="module")
def output():
    return repo2docker_output(ROOT)


def test_uses_python_311(output):
    assert python_versions(output) == {"3.11"}, output


def test_installs_binder_requirements_only(output):
    # binder/ overrides the root requirements.txt; the root one must not be installed as well.
    assert PIP_REQUIREMENTS.findall(output) == ["binder/requirements.txt"]
    assert "src/binder/requirements.txt" in output


def test_runs_postbuild(output):
    assert POSTBUILD_RUN.findall(output) == ["./binder/postBuild"]


def test_does_not_install_repository_itself(output):
    # bcelab is installed by postBuild only, after the cacheable requirements layer.
    assert not REPOSITORY_INSTALL.search(output)


def test_check_notices_other_python(tmp_path):
    copy = copy_repository_config(tmp_path)
    (copy / "binder" / "runtime.txt").write_text("python-3.10\n")
    assert python_versions(repo2docker_output(copy)) == {"3.10"}


def test_check_notices_missing_postbuild(tmp_path):
    copy = copy_repository_config(tmp_path)
    (copy / "binder" / "postBuild").unlink()
    assert POSTBUILD_RUN.findall(repo2docker_output(copy)) == []


def test_check_notices_root_configuration(tmp_path):
    copy = copy_repository_config(tmp_path)
    shutil.rmtree(copy / "binder")
    (copy / "requirements.txt").write_text("numpy\n")
    (copy / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    output = repo2docker_output(copy)
    assert PIP_REQUIREMENTS.findall(output) == ["requirements.txt"]
    assert REPOSITORY_INSTALL.search(output)
