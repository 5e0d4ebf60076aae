"""A correct transfer solution written differently: requires_grad_(False), setattr on the head, filter()."""

from torch import nn


def build_feature_extractor(backbone, num_classes):
    backbone.requires_grad_(False)
    for attr in ("fc", "classifier"):
        head = getattr(backbone, attr, None)
        if isinstance(head, nn.Linear):
            setattr(backbone, attr, nn.Linear(head.in_features, num_classes))
            return backbone
        if isinstance(head, nn.Sequential):
            index = [k for k, layer in enumerate(head) if isinstance(layer, nn.Linear)][-1]
            head[index] = nn.Linear(head[index].in_features, num_classes)
            return backbone
    raise ValueError("no head found")


def trainable_parameters(model):
    return list(filter(lambda p: p.requires_grad, model.parameters()))
