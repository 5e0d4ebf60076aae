"""Shared test set-up: every test gets its own learner home and a fixed terminal width."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE_COURSE = REPO / "tests" / "fixtures" / "course"
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist-t10k"


@pytest.fixture(autouse=True)
def tutor_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DNN_TUTOR_HOME", str(home))
    monkeypatch.setenv("DNN_TUTOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("DNN_TUTOR_DEVICE", raising=False)
    monkeypatch.delenv("DNN_TUTOR_LESSONS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return home


@pytest.fixture
def fixture_course(monkeypatch):
    """Point the lesson loader at the small fixture course under tests/fixtures."""
    monkeypatch.setenv("DNN_TUTOR_LESSONS", str(FIXTURE_COURSE))
    return FIXTURE_COURSE


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture
def mnist_dir():
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("needs the MNIST test set in ../shared/data/mnist-t10k/ beside the repository")
    return SHARED_MNIST
