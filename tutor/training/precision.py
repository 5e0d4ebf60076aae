"""The number format a fit computes in, and the memory layout of conv nets.

``precision`` is ``"fp32"``, ``"bf16"`` or ``"auto"``:

- ``fp32``: float32 everywhere. On CUDA the fp32 matmuls and convolutions use TF32 tensor cores
  (10-bit mantissa inputs, fp32 accumulation), as PyTorch recommends for training.
- ``bf16``: the forward pass and the loss run under ``torch.autocast(dtype=bfloat16)``: matmuls and
  convolutions in bfloat16, reductions and the loss in float32; weights, gradients and the
  optimiser stay float32, so no loss scaling is needed. Fast only where the hardware computes in
  bf16 natively (CPUs with AVX512-BF16 or AMX, NVIDIA GPUs from Ampere on); elsewhere it is
  emulated and slower, which :func:`resolve_precision` says in its reason.
- ``auto``: bf16 where the hardware has it natively and the model is big enough for it to pay
  (parameters x batch of at least :data:`BF16_MIN_WORK`; below that the casts autocast adds cost
  more than the faster matmuls save, on a CPU and on a GPU alike), else fp32.

Conv nets with image input (N, C, H, W) train in channels-last layout on the CPU and CUDA
(:func:`channels_last_wanted`): the convolution kernels there are faster on (N, H, W, C) data.
Torch is imported inside the functions.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

PRECISIONS = ("fp32", "bf16", "auto")
BF16_MIN_WORK = 5_000_000  # parameters x batch size from which bf16 autocast pays


@dataclass(frozen=True)
class Precision:
    """A resolved precision: ``name`` is ``"fp32"`` or ``"bf16"``; ``reason`` says why."""

    name: str
    device_type: str
    reason: str

    @property
    def label(self) -> str:
        if self.name == "fp32" and self.device_type == "cuda":
            return "fp32 (TF32 matmuls)"
        return self.name

    def autocast(self, cache: bool = True):
        """The context the forward pass and the loss run in (a no-op for fp32). ``cache=False`` for a
        step recorded as a CUDA graph, where autocast's cache of cast weights cannot live."""
        if self.name != "bf16":
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device_type=self.device_type, dtype=torch.bfloat16, cache_enabled=cache)


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16(device) -> bool:
    """Whether ``device`` computes bfloat16 matmuls in hardware (not emulated)."""
    import torch

    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        try:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # older PyTorch without the keyword
            return bool(torch.cuda.is_bf16_supported())
    if kind != "cpu":
        return False
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(cpu, probe, None)
        if check is not None:
            try:
                if check():
                    return True
            except Exception:  # noqa: BLE001 - a private probe; fall back to the flags
                pass
    return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


def _work(model, batch_size: int | None) -> int:
    params = sum(p.numel() for p in model.parameters()) if model is not None else 0
    return params * max(1, int(batch_size or 1))


def resolve_precision(requested: str | None, device, model=None, batch_size: int | None = None) -> Precision:
    """Turn ``"fp32" | "bf16" | "auto"`` into what a fit on ``device`` will run in.

    An unknown name, or bf16 on a device without bf16 autocast, raises :class:`TutorError`.
    """
    import torch

    from tutor.errors import TutorError

    text = "fp32" if requested is None else requested.strip().lower() if isinstance(requested, str) else None
    if text not in PRECISIONS:
        raise TutorError(f"unknown precision {requested!r}: choose one of {', '.join(PRECISIONS)}")
    kind = getattr(device, "type", str(device)).split(":")[0]
    if text == "fp32":
        return Precision("fp32", kind, "asked for fp32")
    native = native_bf16(torch.device(kind))
    if text == "bf16":
        if not torch.amp.is_autocast_available(kind):
            raise TutorError(f"precision bf16 is not available on {kind}; use --precision fp32 or auto")
        if native:
            return Precision("bf16", kind, "asked for bf16; this device computes bf16 in hardware")
        return Precision("bf16", kind, "asked for bf16; this device has no bf16 in hardware, so it is emulated (slower)")
    if not native:
        return Precision("fp32", kind, f"auto: {kind} has no bf16 in hardware")
    if model is not None and _work(model, batch_size) < BF16_MIN_WORK:  # casts would cost more than they save
        return Precision("fp32", kind, "auto: the model is too small for bf16 to pay")
    return Precision("bf16", kind, f"auto: {kind} computes bf16 in hardware")


def channels_last_wanted(model, example, device) -> bool:
    """Channels-last layout pays for conv nets on image batches (N, C, H, W) on the CPU and CUDA."""
    import torch

    kind = getattr(device, "type", str(device))
    if kind not in ("cpu", "cuda") or getattr(example, "dim", lambda: 0)() != 4:
        return False
    return any(isinstance(m, torch.nn.Conv2d) for m in model.modules())


@contextlib.contextmanager
def matmul_scope(device):
    """During a fit on CUDA: TF32 for fp32 matmuls and convolutions, and cuDNN picking the fastest
    convolution algorithm for the (fixed) batch shapes; the previous settings come back after."""
    import torch

    if getattr(device, "type", str(device)) != "cuda":
        yield
        return
    cudnn = torch.backends.cudnn
    previous = (torch.get_float32_matmul_precision(), cudnn.allow_tf32, cudnn.benchmark)
    torch.set_float32_matmul_precision("high")
    cudnn.allow_tf32 = True
    cudnn.benchmark = True
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous[0])
        cudnn.allow_tf32, cudnn.benchmark = previous[1], previous[2]
