"""One function picks the device that training runs on.

Order: an explicit request (``--device`` or ``DNN_TUTOR_DEVICE``), else CUDA
when available, else Apple MPS, else the CPU. Torch is imported inside the
functions so that importing this module stays cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tutor.errors import TutorError

VALID = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceChoice:
    name: str  # "cuda", "mps" or "cpu" (torch device string, e.g. "cuda:0" kept in `torch_name`)
    reason: str  # one sentence: why this device
    torch_name: str = ""
    detail: dict = field(default_factory=dict)  # GPU name, memory, capability … when known

    @property
    def label(self) -> str:
        gpu = self.detail.get("gpu_name")
        return f"{self.name} ({gpu})" if gpu else self.name


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _cuda_count() -> int:
    import torch

    return int(torch.cuda.device_count())


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _cuda_detail(index: int = 0) -> dict:
    import torch

    props = torch.cuda.get_device_properties(index)
    return {
        "gpu_name": props.name,
        "memory_gib": round(props.total_memory / 2**30, 1),
        "capability": f"{props.major}.{props.minor}",
        "count": torch.cuda.device_count(),
        "cuda_version": torch.version.cuda,
        "native_bf16": props.major >= 8,  # Ampere and later compute bf16 (and TF32) in hardware
    }


def check_name(requested: str | None) -> None:
    """Refuse a device name that is none of auto, cpu, cuda, cuda:N, mps (before anything slow is imported)."""
    if requested is not None and requested.strip().lower() != "auto":
        _normalise(requested)  # '' too: the same one line as demo, bench and playground give


def _normalise(requested: str) -> tuple[str, int | None]:
    text = requested.strip().lower()
    if text.startswith("cuda:"):
        index = text.split(":", 1)[1]
        if not index.isdecimal():
            raise TutorError(f"unknown device {requested!r}: use one of auto, cpu, cuda, cuda:N, mps")
        return "cuda", int(index)
    if text not in VALID:
        raise TutorError(f"unknown device {requested!r}: use one of auto, cpu, cuda, cuda:N, mps")
    return text, None


def pick_device(requested: str | None = None) -> DeviceChoice:
    """Choose the device. ``requested`` wins over ``DNN_TUTOR_DEVICE``, which wins over auto-detection.

    Asking for a device that is not there raises :class:`TutorError` (exit 2).
    """
    source = "--device"
    if not requested or requested.strip().lower() == "auto":
        env = os.environ.get("DNN_TUTOR_DEVICE", "").strip()
        if env and env.lower() != "auto":
            requested, source = env, "DNN_TUTOR_DEVICE"
        else:
            requested = None

    if requested is not None:
        try:
            name, index = _normalise(requested)
        except TutorError as exc:
            if source == "DNN_TUTOR_DEVICE":
                raise TutorError(f"DNN_TUTOR_DEVICE: {exc.message}; or unset it") from None
            raise
        if name == "cuda":
            if not _cuda_available():
                raise TutorError(f"{source} asks for cuda, but PyTorch sees no CUDA GPU here; use --device cpu or auto")
            index = index or 0
            if index >= _cuda_count():
                raise TutorError(f"{source} asks for cuda:{index}, but only {_cuda_count()} CUDA GPU(s) are visible")
            return DeviceChoice("cuda", f"requested by {source}", f"cuda:{index}", _cuda_detail(index))
        if name == "mps":
            if not _mps_available():
                raise TutorError(f"{source} asks for mps, but Apple's Metal backend is not available here; use --device cpu or auto")
            return DeviceChoice("mps", f"requested by {source}", "mps", {"gpu_name": "Apple GPU (Metal)"})
        return DeviceChoice("cpu", f"requested by {source}", "cpu", _cpu_detail())

    if _cuda_available():
        return DeviceChoice("cuda", "a CUDA GPU is available", "cuda:0", _cuda_detail(0))
    if _mps_available():
        return DeviceChoice("mps", "no CUDA GPU; Apple's Metal (MPS) backend is available", "mps", {"gpu_name": "Apple GPU (Metal)"})
    return DeviceChoice("cpu", "no CUDA GPU or Apple MPS backend was found", "cpu", _cpu_detail())


def _cpu_detail() -> dict:
    import torch

    from tutor.training.precision import native_bf16

    return {"threads": torch.get_num_threads(), "cores": os.cpu_count(), "native_bf16": native_bf16(torch.device("cpu"))}


def torch_device(choice: DeviceChoice):
    import torch

    return torch.device(choice.torch_name or choice.name)
