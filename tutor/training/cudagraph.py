"""A training step recorded once as a CUDA graph and replayed for every full-size batch.

On a GPU a small net's step is not arithmetic but launches: forward, loss, backward and the
optimiser are a hundred or so small kernels, each issued from Python, so the GPU waits on the host
(about 1.7 ms a step for the mnist-mlp net at batch 128 on an H200, of which the kernels take a
fraction). A CUDA graph records the launches of one step (forward, loss, backward, optimiser, and
the epoch's running loss and correct count) and replays them with one call: per batch the host
then copies the batch into the graph's input buffers and replays.

Used only where every step is the same work on the same buffers (:func:`graph_ready`): CUDA, an
Adam or AdamW optimiser the fit built itself, no learning-rate scheduler, no ``augment``, no
gradient clipping and no after-backward hooks. The first :data:`WARMUP` steps run as usual on a
side stream (PyTorch sets up its lazy state there), the next full-size step is captured, and the
shorter last batch of an epoch runs as usual. A step that cannot be captured (an op that reads a
value back to the host, say) falls back to the usual step for the rest of the fit. Gradients,
weights and optimiser state are the same tensors throughout, so nothing else changes: the same
kernels compute the same numbers (dropout draws its masks from the graph-safe generator, so a
seeded run gives other, still reproducible, masks).

On by default wherever :func:`graph_ready` allows it; ``DNN_TUTOR_CUDA_GRAPHS=0`` (or ``off``, ``no``,
``false``) turns it off. ``benchmarks/gpu_check.sh`` runs the GPU tests, every demo and ``bench`` with
and without it: on an H200, ``bench`` went from 1.8-1.9x the DataLoader loop to 9.6-11.7x with it (three
runs), and no quick demo took longer with it. A fit with a learning-rate schedule (the cnn demo's
cosine one, say) trains as usual.

Torch is imported inside the functions.
"""

from __future__ import annotations

import os
from typing import Any

WARMUP = 3  # usual steps before the capture (PyTorch's guidance for whole-network capture)


def graphs_enabled() -> bool:
    """Whether ``DNN_TUTOR_CUDA_GRAPHS`` leaves CUDA graphs on: on unset (or 1/on/yes/true), off for
    0/off/no/false; anything else is one clear error (exit 2), as for the other settings."""
    value = os.environ.get("DNN_TUTOR_CUDA_GRAPHS", "").strip().lower()
    if value in ("", "1", "on", "yes", "true"):
        return True
    if value in ("0", "off", "no", "false"):
        return False
    from tutor.errors import TutorError

    shown = os.environ["DNN_TUTOR_CUDA_GRAPHS"]
    raise TutorError(f"DNN_TUTOR_CUDA_GRAPHS is {shown[:40]!r}: give 1 (on, the default) or 0 (off)", exit_code=2)


def graph_ready(device, opt, implementation: str, scheduler, augment, clip_grad, after_backward) -> bool:
    """Whether a fit's steps can be one replayed graph (see the module's docstring)."""
    import torch

    if getattr(device, "type", str(device)) != "cuda" or not graphs_enabled():
        return False
    if implementation == "given" or scheduler is not None or augment is not None or clip_grad or after_backward:
        return False
    if not isinstance(opt, (torch.optim.Adam, torch.optim.AdamW)):
        return False
    return all(not g.get("differentiable") and not isinstance(g.get("lr"), torch.Tensor) for g in opt.param_groups)


class StepGraph:
    """One model's training step as a CUDA graph, with the epoch's loss sum and correct count.

    ``step(xb, yb)`` trains on one batch (replaying the graph when it can) and adds the batch's
    loss x size and correct count to :attr:`loss_sum` and :attr:`correct` on the device.
    """

    def __init__(self, model, opt, loss_fn, task: str, precision, batch_size: int, device) -> None:
        import torch

        self.model, self.opt, self.loss_fn, self.task, self.precision = model, opt, loss_fn, task, precision
        self.batch_size = batch_size  # the full size: the only size the graph is captured for
        self.loss_sum = torch.zeros((), dtype=torch.float32, device=device)  # () sum of loss x batch size
        self.correct = torch.zeros((), dtype=torch.long, device=device)  # () correct predictions
        self.side = torch.cuda.Stream(device=device)
        self.graph: Any = None
        self.x: Any = None  # (B, ...) the batch the graph reads
        self.y: Any = None  # (B,) its labels
        self.warm = 0
        self.failed = False
        self.failure = ""
        for group in opt.param_groups:  # the step count stays on the GPU, as a graph needs
            group["capturable"] = True

    @property
    def captured(self) -> bool:
        return self.graph is not None

    def reset(self) -> None:
        """Zero the epoch's sums (kept as tensors so that the graph adds to the same memory)."""
        self.loss_sum.zero_()
        self.correct.zero_()

    def totals(self) -> tuple[float, float]:
        """(loss sum, correct count) as floats: the epoch's one read back from the GPU."""
        import torch

        loss, correct = torch.stack([self.loss_sum, self.correct.to(self.loss_sum.dtype)]).tolist()
        return loss, correct

    def step(self, xb, yb) -> None:
        full = len(xb) == self.batch_size
        if full and self.captured:
            self.x.copy_(xb)  # (B, ...) into the buffers the graph reads
            self.y.copy_(yb)  # (B,)
            self.graph.replay()
        elif full and not self.failed and self.warm >= WARMUP:
            self._capture(xb, yb)
        else:
            self._eager(xb, yb, on_side=not self.captured and not self.failed)
            self.warm += full

    def _forward_backward(self, xb, yb, cache: bool = True) -> None:
        from tutor.training.evaluation import correct_count, fit_shape

        with self.precision.autocast(cache=cache):
            out = fit_shape(self.model(xb), yb, self.task)  # (B, C) or (B,)
            loss = self.loss_fn(out, yb)  # ()
        loss.backward()
        self.opt.step()
        self.loss_sum.add_(loss.detach().float() * len(xb))
        if self.task != "regression":
            self.correct.add_(correct_count(out.detach(), yb, self.task))

    def _eager(self, xb, yb, on_side: bool) -> None:
        import torch

        # Once captured, the gradients are the graph's own buffers: zero them, never drop them.
        self.opt.zero_grad(set_to_none=not self.captured)
        if not on_side:
            self._forward_backward(xb, yb)
            return
        current = torch.cuda.current_stream()
        self.side.wait_stream(current)
        with torch.cuda.stream(self.side):
            self._forward_backward(xb, yb)
        current.wait_stream(self.side)

    def _capture(self, xb, yb) -> None:
        import torch

        self.x, self.y = torch.empty_like(xb), torch.empty_like(yb)
        self.x.copy_(xb)
        self.y.copy_(yb)
        self.opt.zero_grad(set_to_none=True)  # the backward in the graph makes the gradients in its own pool
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self._forward_backward(self.x, self.y, cache=False)  # autocast's cast cache cannot live in a graph
        except Exception as exc:  # noqa: BLE001 - any op that cannot be captured: train as usual instead
            self.failed, self.failure, self.x, self.y = True, f"{type(exc).__name__}: {exc}", None, None
            torch.cuda.synchronize()
            for group in self.opt.param_groups:  # fused Adam keeps its step count on the GPU either way
                if group.get("fused"):
                    group["capturable"] = False
            self.opt.zero_grad(set_to_none=True)
            self._eager(xb, yb, on_side=False)
            return
        self.graph = graph
        graph.replay()  # capturing records the step without running it: this is the step
