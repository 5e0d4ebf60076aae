"""Reference solution for exercises/transfer.py (used by the tests; never shipped as a starter)."""

from torch import nn


def build_feature_extractor(backbone, num_classes):
    for parameter in backbone.parameters():
        parameter.requires_grad = False
    if isinstance(getattr(backbone, "fc", None), nn.Linear):
        backbone.fc = nn.Linear(backbone.fc.in_features, num_classes)
    elif isinstance(getattr(backbone, "classifier", None), nn.Linear):
        backbone.classifier = nn.Linear(backbone.classifier.in_features, num_classes)
    elif isinstance(getattr(backbone, "classifier", None), nn.Sequential):
        head = backbone.classifier
        last = max(i for i, layer in enumerate(head) if isinstance(layer, nn.Linear))
        head[last] = nn.Linear(head[last].in_features, num_classes)
    else:
        raise ValueError("the backbone has neither .fc nor .classifier")
    return backbone


def trainable_parameters(model):
    return [p for p in model.parameters() if p.requires_grad]
