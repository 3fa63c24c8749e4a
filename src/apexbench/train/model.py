"""The lightweight CNN for 48x48 gray faces, with a width multiplier.

Seed 004 describes a small CNN (2.3 MB as FP16, width multiplier, label smoothing, MixUp) but not
its layers; this is a plain VGG-style reconstruction sized to match.

Four stages of two 3x3 conv-BN-ReLU blocks (32, 64, 128, 256 channels at width 1.0), max pooling
between stages, global average pooling, dropout and one linear layer to the 7 FER2013 classes.
At width 1.0 that is about 1.17 M parameters (2.3 MB as FP16, the size the seed reports); width 0.75
(the default, the seed's best variant with MixUp) has 0.66 M.
"""

from __future__ import annotations

import torch
from torch import nn

BASE_CHANNELS = (32, 64, 128, 256)


def scaled_channels(width: float) -> tuple[int, ...]:
    """Channels per stage at ``width``, rounded to a multiple of 8 (at least 8)."""
    return tuple(max(8, int(round(c * width / 8)) * 8) for c in BASE_CHANNELS)


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class LightCNN(nn.Module):
    """(N, 1, 48, 48) float in [-1, 1] -> (N, n_classes) logits."""

    def __init__(self, width: float = 1.0, n_classes: int = 7, dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        channels = scaled_channels(width)
        for stage, cout in enumerate(channels):
            layers += _block(cin, cout) + _block(cout, cout)
            if stage < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(cin, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x)).flatten(1)
        return self.head(self.dropout(x))


class WithSoftmax(nn.Module):
    """The exported graph: logits -> probabilities, so the ONNX file is self-contained."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=1)


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
