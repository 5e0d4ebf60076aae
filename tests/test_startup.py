"""Start-up stays light: these commands must not import torch, torchvision or matplotlib."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import FIXTURE_COURSE

HEAVY = ("torch", "torchvision", "matplotlib")

PROBE = """
import json, sys
from typer.testing import CliRunner
from tutor.cli import app
result = CliRunner().invoke(app, json.loads(sys.argv[1]))
print(json.dumps({"exit": result.exit_code, "heavy": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)


@pytest.mark.parametrize(
    "args",
    [["--help"], [], ["lessons"], ["lesson", "1"], ["lesson", "basics", "--section", "2"], ["progress"], ["--version"]],
    ids=lambda a: " ".join(a) or "home",
)
def test_command_does_not_import_heavy_modules(args, tmp_path):
    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path), DNN_TUTOR_LESSONS=str(FIXTURE_COURSE))
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["exit"] == 0
    assert report["heavy"] == [], f"'dnn-tutor {' '.join(args)}' imported {report['heavy']}"


def test_python_dash_m_tutor_works(tmp_path):
    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "tutor", "--version"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0
    assert out.stdout.startswith("dnn-tutor ")


def test_importing_the_cli_changes_no_process_state(tmp_path):
    probe = (
        "import os, signal, sys\n"
        "before = dict(os.environ)\n"
        "import tutor.cli\n"
        "assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, 'SIGTERM handler installed on import'\n"
        "assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL, 'SIGHUP handler installed on import'\n"
        "assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())\n"
    )
    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
