"""Device choice: every branch, with the availability functions patched."""

from __future__ import annotations

import pytest

from tutor import device
from tutor.errors import TutorError


@pytest.fixture
def fake_gpu(monkeypatch):
    def patch(cuda: bool, mps: bool):
        monkeypatch.setattr(device, "_cuda_available", lambda: cuda)
        monkeypatch.setattr(device, "_mps_available", lambda: mps)
        monkeypatch.setattr(device, "_cuda_count", lambda: 1 if cuda else 0)
        monkeypatch.setattr(
            device, "_cuda_detail", lambda index=0: {"gpu_name": "Test GPU", "memory_gib": 80.0, "count": 1}
        )
        monkeypatch.setattr(device, "_cpu_detail", lambda: {"threads": 2, "cores": 2, "native_bf16": False})

    return patch


def test_cuda_first(fake_gpu):
    fake_gpu(cuda=True, mps=True)
    choice = device.pick_device()
    assert choice.name == "cuda" and choice.torch_name == "cuda:0"
    assert "CUDA GPU is available" in choice.reason
    assert choice.label == "cuda (Test GPU)"


def test_mps_when_no_cuda(fake_gpu):
    fake_gpu(cuda=False, mps=True)
    choice = device.pick_device()
    assert choice.name == "mps"
    assert "MPS" in choice.reason


def test_cpu_otherwise(fake_gpu):
    fake_gpu(cuda=False, mps=False)
    choice = device.pick_device()
    assert choice.name == "cpu"
    assert "no CUDA GPU or Apple MPS" in choice.reason


def test_explicit_cpu_wins_over_a_gpu(fake_gpu):
    fake_gpu(cuda=True, mps=False)
    choice = device.pick_device("cpu")
    assert choice.name == "cpu" and "--device" in choice.reason


def test_environment_variable_overrides(fake_gpu, monkeypatch):
    fake_gpu(cuda=True, mps=False)
    monkeypatch.setenv("DNN_TUTOR_DEVICE", "cpu")
    choice = device.pick_device()
    assert choice.name == "cpu" and "DNN_TUTOR_DEVICE" in choice.reason
    # the command-line option beats the variable
    assert device.pick_device("cuda").name == "cuda"


@pytest.mark.parametrize("asked", ["cuda", "cuda:0", "mps"])
def test_missing_accelerator_is_a_usage_error(fake_gpu, asked):
    fake_gpu(cuda=False, mps=False)
    with pytest.raises(TutorError) as info:
        device.pick_device(asked)
    assert info.value.exit_code == 2
    assert "\n" not in info.value.message


def test_unknown_device_name(fake_gpu):
    fake_gpu(cuda=False, mps=False)
    with pytest.raises(TutorError, match="unknown device 'tpu'"):
        device.pick_device("tpu")


def test_real_machine_picks_something():
    choice = device.pick_device()
    assert choice.name in {"cuda", "mps", "cpu"}
    assert isinstance(choice.detail.get("native_bf16"), bool)
    import torch

    torch.zeros(2, device=device.torch_device(choice))


@pytest.mark.slow  # runs doctor: imports torch and torchvision
def test_doctor_reports_cuda_request_as_usage_error(runner, fake_gpu):
    from tutor.cli import app

    fake_gpu(cuda=False, mps=False)
    result = runner.invoke(app, ["doctor", "--device", "cuda"])
    assert result.exit_code == 2
    assert "asks for cuda" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow  # runs doctor: imports torch and torchvision
def test_doctor_shows_the_gpu_and_why(runner, fake_gpu):
    from tutor.cli import app

    fake_gpu(cuda=True, mps=False)
    import json

    result = runner.invoke(app, ["doctor", "--json"])
    data = json.loads(result.stdout)
    assert data["device"]["name"] == "cuda"
    assert data["device"]["gpu_name"] == "Test GPU"
    assert data["device"]["reason"] == "a CUDA GPU is available"


# --------------------------------------------------------------------------------------------
# benchmarks/gpu_check.sh: fails clearly where there is no GPU
# --------------------------------------------------------------------------------------------

def _gpu_check(tmp_path, env_extra: dict):
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    if shutil.which("bash") is None:
        pytest.skip("no bash")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               TMPDIR=str(tmp_path), **env_extra)
    return subprocess.run(["bash", str(script), str(tmp_path / "results")], capture_output=True, text=True,
                          env=env, timeout=300)


def test_gpu_check_rejects_a_bad_device_setting(tmp_path):
    out = _gpu_check(tmp_path, {"GPU_CHECK_DEVICE": "tpu"})
    assert out.returncode == 2
    assert "GPU_CHECK_DEVICE must be cuda or cpu" in out.stderr


@pytest.mark.slow
def test_gpu_check_without_cuda_says_so_and_exits_2(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    out = _gpu_check(tmp_path, {})
    assert out.returncode == 2, out.stdout + out.stderr
    assert "no CUDA GPU is visible to PyTorch here" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert (tmp_path / "results" / "cuda.txt").exists()
