"""Exercise: transfer learning with a frozen backbone (lesson 7). Uses PyTorch.

Reuse a network trained on one task as a fixed feature extractor for another:
freeze every parameter of the backbone, then replace its classification head
with a fresh ``nn.Linear`` that outputs ``num_classes`` scores. Only the new
head is trained.

Where the head is (the torchvision conventions):
- ``model.fc`` is an ``nn.Linear`` (ResNet style): replace ``model.fc``.
- ``model.classifier`` is an ``nn.Linear``: replace it.
- ``model.classifier`` is an ``nn.Sequential`` (VGG style): replace its LAST
  ``nn.Linear`` layer; the layers before it stay as they are (and frozen).
The new head keeps the old head's ``in_features``.

The grader builds small models with random weights (no downloads) and checks
the structure, the ``requires_grad`` flags, and that one optimisation step
changes the head and nothing else.

Check your work with ``dnn-tutor check exercises/transfer.py``.
"""

from torch import nn


def build_feature_extractor(backbone, num_classes):
    """Freeze ``backbone`` and give it a new head with ``num_classes`` outputs; return the model."""
    # TODO: stop every existing parameter from receiving gradients.
    # TODO: find the head (see the module docstring) and replace it with a new nn.Linear.
    raise NotImplementedError("build_feature_extractor")


def trainable_parameters(model):
    """The parameters an optimiser should update: a list of the ones that still need gradients."""
    # TODO: keep only the parameters with requires_grad set.
    raise NotImplementedError("trainable_parameters")
