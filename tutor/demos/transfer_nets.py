"""The networks of the transfer demo: a small CNN backbone, a linear head, a frozen wrapper,
and the input adapter for torchvision's ResNet-18 (imports torch)."""

from __future__ import annotations

import torch
from torch import nn


def small_backbone(channels=(32, 64)) -> nn.Module:
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, 1, 12, 12) -> (N, c1, 6, 6)
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # -> (N, c2, 3, 3)
        nn.Flatten(),  # -> (N, 9 * c2) features
    )


class Classifier(nn.Module):
    """``backbone`` (images -> features) then one Linear layer (features -> class logits)."""

    def __init__(self, backbone: nn.Module, n_features: int, n_classes: int = 5):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(n_features, n_classes)

    def forward(self, x):  # x (N, 1, 12, 12)
        return self.head(self.backbone(x))  # (N, n_classes) logits


class Frozen(nn.Module):
    """Wraps a backbone so nothing in it learns: no gradients, and always in eval mode
    (batch-norm statistics stay those of pretraining even while the head trains)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        for p in self.inner.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.inner.eval()
        return self

    def forward(self, x):
        with torch.no_grad():
            return self.inner(x)


class _ImageNetInput(nn.Module):
    """Grey 12x12 digits -> the 3-channel, ImageNet-normalised 32x32 images ResNet expects."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x):  # (N, 1, 12, 12)
        x = nn.functional.interpolate(x.clamp(0, 1), size=32, mode="bilinear", align_corners=False)  # (N, 1, 32, 32)
        x = (x.repeat(1, 3, 1, 1) - self.mean) / self.std  # (N, 3, 32, 32)
        return self.net(x)  # (N, 512)
