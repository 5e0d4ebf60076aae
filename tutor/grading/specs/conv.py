"""Checks for exercises/conv.py: 2-D convolution and max-pooling, forward and backward."""

from __future__ import annotations

import numpy as np

from tutor.grading.engine import Plan
from tutor.grading.specs._common import LayerCase, label, layer_checks


def plan(rng: np.random.Generator) -> Plan:
    p = Plan()
    _conv(p, rng)
    _pool(p, rng)
    return p


def _conv_ref(x, w, b, stride=1, pad=0):
    import torch

    return torch.nn.functional.conv2d(x, w, b, stride=stride, padding=pad)


def _conv(p: Plan, rng) -> None:
    cases = []
    for (n, c, h, wd), (f, kh, kw), stride, pad in [
        ((1, 1, 5, 5), (2, 3, 3), 1, 0),
        ((2, 3, 7, 6), (4, 3, 3), 2, 1),
        ((2, 2, 6, 5), (3, 2, 3), 1, 2),
        ((3, 2, 8, 8), (2, 3, 3), 2, 0),
    ]:
        x = rng.normal(size=(n, c, h, wd))
        w = rng.normal(size=(f, c, kh, kw))
        b = rng.normal(size=f)
        ho = (h + 2 * pad - kh) // stride + 1
        wo = (wd + 2 * pad - kw) // stride + 1
        cases.append(
            LayerCase(
                label(x=(n, c, h, wd), w=(f, c, kh, kw), stride=stride, pad=pad),
                [x, w, b],
                rng.normal(size=(n, f, ho, wo)),
                kwargs={"stride": stride, "pad": pad},
                batch=n,
            )
        )

    def forward_variants(case, outs):
        import torch

        x, w, b = (torch.tensor(a) for a in case.args)
        flipped = _conv_ref(x, torch.flip(w, dims=(2, 3)), b, **case.kwargs).numpy()
        return {"out": [("kernel-flipped", flipped, "the kernel is flipped: deep-learning 'convolution' slides the kernel as it is (cross-correlation)")]}

    def variants(case, outs, grads):
        dx, dw, db = grads
        n = case.batch
        positions = case.dout.shape[2] * case.dout.shape[3]
        text = "the bias gradient is averaged; sum it over the batch and all output positions"
        found = {"db": [("bias-averaged", db / (n * positions), text), ("bias-averaged", db / positions, text)]}
        if n > 1:
            found["db"].append(("bias-averaged", db / n, text))
            found["dw"] = [("batch-mean", dw / n, "dw is divided by N: every example adds to the weight gradient, sum them")]
        return found

    layer_checks(
        p, rng, forward="conv2d_forward", backward="conv2d_backward", cases=cases, reference=_conv_ref,
        grad_names=("dx", "dw", "db"), grad_of=[0, 1, 2], variants=variants, forward_variants=forward_variants,
    )


def _pool_ref(x, size=2, stride=2):
    import torch

    return torch.nn.functional.max_pool2d(x, size, stride)


def _pool(p: Plan, rng) -> None:
    cases = []
    for shape, size, stride in [((1, 1, 4, 4), 2, 2), ((2, 3, 6, 7), 2, 2), ((2, 2, 7, 7), 3, 2), ((1, 2, 5, 6), 3, 1)]:
        x = rng.normal(size=shape)
        ho = (shape[2] - size) // stride + 1
        wo = (shape[3] - size) // stride + 1
        cases.append(LayerCase(label(x=shape, size=size, stride=stride), [x], rng.normal(size=(shape[0], shape[1], ho, wo)), kwargs={"size": size, "stride": stride}))

    def variants(case, outs, grads):
        import torch

        x = torch.tensor(case.args[0], requires_grad=True)
        out = torch.nn.functional.avg_pool2d(x, case.kwargs["size"], case.kwargs["stride"])
        (out * torch.tensor(case.dout)).sum().backward()
        spread = x.grad.numpy() * case.kwargs["size"] ** 2
        return {"dx": [("pool-average", x.grad.numpy(), "the gradient is spread over the whole window; it belongs to the maximum only"),
                       ("pool-average", spread, "the gradient is copied to every element of the window; it belongs to the maximum only")]}

    layer_checks(
        p, rng, forward="maxpool2d_forward", backward="maxpool2d_backward", cases=cases, reference=_pool_ref,
        grad_names=("dx",), grad_of=[0], variants=variants,
    )
