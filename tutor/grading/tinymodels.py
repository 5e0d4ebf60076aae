"""Small backbones for the transfer exercise, built with random weights (no downloads).

Loaded by file path in the grading child, so it imports only torch.
``TinyResNet`` has its head at ``.fc`` (like torchvision's ResNets);
``TinyVGG`` ends in a ``.classifier`` Sequential whose last layer is the head
(like torchvision's VGG); ``TinyNet`` has a single Linear ``.classifier``.
"""

from __future__ import annotations

import torch
from torch import nn


class _Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


class TinyResNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)  # (N, 8, H, W)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = _Block(8)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # (N, 8, 1, 1)
        self.fc = nn.Linear(8, num_classes)  # the head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer1(torch.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TinyVGG(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, 6, H/2, W/2)
            nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),  # (N, 8, 2, 2)
        )
        self.classifier = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, num_classes))  # last Linear: the head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class TinyNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 12), nn.Tanh())  # (N, 12)
        self.classifier = nn.Linear(12, num_classes)  # the head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

