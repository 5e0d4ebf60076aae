"""Small model builders shared by the demos (torch is imported inside each function)."""

from __future__ import annotations

from typing import Sequence

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear")


def activation(name: str):
    """An activation module by name (see :data:`ACTIVATIONS`)."""
    from torch import nn

    table = {
        "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
        "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU, "linear": nn.Identity,
    }
    if name not in table:
        from tutor.errors import TutorError

        raise TutorError(f"unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}")
    return table[name]()


def dropout_mask(x, p: float):
    """The scaled keep-mask of inverted dropout for ``x``: 0 with probability ``p``, else 1/(1-p).

    Cheap on the CPU: one 64-bit draw of the (seeded) generator gives four 16-bit numbers, and the
    mask is made with float arithmetic (comparisons that produce bool tensors are slow there):
    ``clamp(u - t + 1, 0, 1)`` is 1 exactly when ``u >= t``. ``p`` is rounded to a multiple of
    1/65536 (0.3 -> 0.299988) and the scale uses the rounded keep probability, so the expected
    output equals the input exactly. Same shape, dtype and device as ``x``.
    """
    import torch

    n = x.numel()
    threshold = round(p * 65536) - 32768  # keep a unit when its int16 draw is >= this
    keep = (32767 - threshold + 1) / 65536
    if keep <= 0.0:
        return torch.zeros_like(x)
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_(-2**63, None)
    draws = words.view(torch.int16)[:n].view(x.shape)  # (same as x) uniform over -32768..32767
    mask = draws.float().sub_(threshold - 1).clamp_(0, 1).mul_(1.0 / keep)  # exact in float32
    return mask if x.dtype == torch.float32 else mask.to(x.dtype)


def _dropout_class():
    from torch import nn

    class Dropout(nn.Dropout):
        """``nn.Dropout`` (inverted dropout: zero a fraction ``p``, scale the rest by 1/(1-p)).

        On the CPU the mask comes from :func:`dropout_mask` (about 3x cheaper forward and backward
        than the ``bernoulli_`` inside ``nn.Dropout`` on a 128x512 batch); same maths, same
        ``eval()`` behaviour, deterministic under ``torch.manual_seed``. Other devices use
        PyTorch's fused kernel.
        """

        def forward(self, x):
            if (not self.training or self.p == 0.0 or self.p >= 1.0 or x.device.type != "cpu"
                    or not x.is_floating_point() or self.inplace):
                return super().forward(x)
            return x * dropout_mask(x, self.p)

    return Dropout


_DROPOUT = None


def make_dropout(p: float):
    """A dropout layer (a subclass of ``nn.Dropout``, faster on the CPU)."""
    global _DROPOUT
    if _DROPOUT is None:
        _DROPOUT = _dropout_class()
    return _DROPOUT(p)


def mlp(sizes: Sequence[int], act: str = "relu", dropout: float = 0.0, batch_norm: bool = False,
        init: str | None = None):
    """A fully connected net ``sizes[0] -> ... -> sizes[-1]``; the last layer has no activation.

    Hidden layers are Linear [-> BatchNorm] -> activation [-> Dropout]. ``init``: ``"he"``
    (Kaiming normal, for ReLU), ``"xavier"`` (Glorot, for tanh/sigmoid) or None (PyTorch's default).
    """
    from torch import nn

    layers: list = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(fan_in, fan_out)
        if init == "he":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        elif init == "xavier":
            nn.init.xavier_normal_(linear.weight)
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(fan_out))
            layers.append(activation(act))
            if dropout > 0:
                layers.append(make_dropout(dropout))
    return nn.Sequential(*layers)


def mnist_mlp(in_features: int = 784, n_classes: int = 10, dropout: float = 0.3):
    """The 512-256-128 net of the lessons: two Linear-BatchNorm-ReLU-Dropout blocks, then 128, then 10.

    Takes images (N, 1, 28, 28) (or anything that flattens to ``in_features``); returns logits (N, 10).
    """
    from torch import nn

    return nn.Sequential(
        nn.Flatten(),  # (N, 1, 28, 28) -> (N, 784)
        nn.Linear(in_features, 512), nn.BatchNorm1d(512), nn.ReLU(), make_dropout(dropout),  # (N, 512)
        nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(), make_dropout(dropout),  # (N, 256)
        nn.Linear(256, 128), nn.ReLU(),  # (N, 128)
        nn.Linear(128, n_classes),  # (N, 10) logits
    )


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def mlp_flops_per_sample(model) -> int:
    """Training FLOPs per sample of the Linear layers: 2*in*out forward, twice that backward (x3 total)."""
    from torch import nn

    total = 0
    for module in model.modules():
        if isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features
    return 3 * total
