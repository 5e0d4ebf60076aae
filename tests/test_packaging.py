"""The wheel carries the content folders, so an installed dnn-tutor finds them from any directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    uv = shutil.which("uv")
    if uv:
        cmd = [uv, "build", "--wheel", "--out-dir", str(out), str(REPO)]
    else:
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(REPO)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and "network" in (result.stderr + result.stdout).lower():
        pytest.skip("building the wheel needs the build backend from the package index")
    assert result.returncode == 0, result.stderr[-2000:]
    wheels = list(out.glob("dnn_tutor-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def _shipped(root: str) -> set[str]:
    return {
        str(p.relative_to(REPO)).replace("\\", "/")
        for p in (REPO / root).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_wheel_contains_content_folders(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "tutor/cli.py" in names
    for folder in ("lessons", "exercises", "data"):
        expected = _shipped(folder)
        assert expected, f"{folder}/ is empty"
        missing = {f for f in expected if f"tutor/_content/{f}" not in names}
        assert not missing, f"missing from the wheel: {sorted(missing)[:5]}"
    # solutions stay out of the wheel
    assert not any(n.startswith("tests/") or "/solutions/" in n for n in names)


def test_wheel_declares_the_console_script(wheel):
    with zipfile.ZipFile(wheel) as zf:
        entry = next(n for n in zf.namelist() if n.endswith("entry_points.txt"))
        text = zf.read(entry).decode()
    assert "dnn-tutor = tutor.cli:main" in text


def test_installed_copy_finds_its_lessons_from_any_directory(wheel, tmp_path):
    import os

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site), DNN_TUTOR_HOME=str(tmp_path / "home"))
    env.pop("DNN_TUTOR_LESSONS", None)
    probe = "import tutor.paths as p; print(p.lessons_dir()); print(p.exercises_dir()); print(p.data_dir())"
    out = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for line in out.stdout.split():
        assert line.startswith(str(site / "tutor" / "_content")), line
    listing = subprocess.run(
        [sys.executable, "-m", "tutor", "lessons"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60
    )
    assert listing.returncode == 0, listing.stderr


def test_ci_runs_exactly_the_readme_test_command():
    """CI must run the README's set-up-and-test command verbatim, so a missing install step fails there."""
    import re

    root = Path(__file__).resolve().parents[1]
    blocks = re.findall(r"```\n(.*?)\n```", (root / "README.md").read_text(encoding="utf-8"), flags=re.S)
    commands = [b.strip() for b in blocks if b.strip().endswith("python -m pytest")]
    assert len(commands) == 1, commands
    ci_lines = [line.strip() for line in (root / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert commands[0] in ci_lines
    assert "--compile-bytecode" in commands[0]  # no process compiles the libraries again (PYTHONDONTWRITEBYTECODE)
