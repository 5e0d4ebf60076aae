"""The list of demos: adding a demo is one module in ``tutor/demos/`` plus one entry in :data:`DEMOS`.

This module holds only strings (listing the demos must not import torch); the demo's module is
imported when it runs (:func:`load`).
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass

from tutor.errors import TutorError


@dataclass(frozen=True)
class DemoInfo:
    id: str  # what the learner types: `dnn-tutor demo <id>` (lower-case, dashes)
    module: str  # module name inside tutor.demos, e.g. "mnist_mlp"
    title: str  # one line shown in the run's header
    lesson: str  # lesson id (as in lessons/*.md front matter) the demo belongs to
    shows: str  # what the learner watches, one short sentence
    cpu_time: str  # wall time of the default run on 2-core CPUs, start-up included, fast to slow host: "~2-5 s"
    headline: str = ""  # the metric the journal shows for a run, where its first accuracy is not the point


DEMOS: list[DemoInfo] = [
    DemoInfo("xor", "xor", "XOR with a 2-6-4-1 network", "deep-networks",
             "a hidden layer bends the boundary around the four XOR quadrants", "~1-5 s"),
    DemoInfo("mnist-mlp", "mnist_mlp", "MNIST digits with a 512-256-128 MLP (batch norm, dropout, Adam)", "deep-networks",
             "a deep MLP with batch norm and dropout reading handwritten digits", "~2-5 s"),
    DemoInfo("playground", "playground", "Your own 2-D dataset and network", "deep-networks",
             "how layers, activation, L2, dropout and noise change the boundary", "~1-5 s"),
    DemoInfo("spiral", "spiral", "Two spirals with a 2-16-8-4-1 network, full-batch gradient descent", "backprop",
             "depth carves two interleaved spiral arms apart, epoch by epoch", "~2-6 s"),
    DemoInfo("overfitting", "overfitting", "Overfitting and its cures: one big net, 100 noisy points, five trainings", "overfitting",
             "the train-validation gap with no cure, dropout, L2, early stopping and batch norm", "~8-20 s"),
    DemoInfo("optimizers", "optimizers", "SGD, momentum, RMSprop and Adam (and a schedule) with the same budget", "training",
             "loss curves of each optimiser, the epoch each reaches a target loss, what a schedule adds", "~2-6 s",
             headline="schedule_val_acc"),
    DemoInfo("cnn", "cnn", "Conv-Pool-Conv-Pool-Dense against the mnist-mlp net on the same digits", "cnn",
             "a CNN beats the MLP with fewer weights; its filters and feature maps", "~3-7 s (MNIST ~22-50 s)"),
    DemoInfo("rnn", "rnn", "SimpleRNN vs LSTM vs GRU on a long-range memory task", "rnn",
             "gated cells remember T steps back; the gradient per time step shows why", "~10-30 s",
             headline="lstm_acc"),
    DemoInfo("transfer", "transfer", "Transfer learning: frozen, fine-tuned and scratch CNNs with 5-50 labels per class", "transfer",
             "a backbone pretrained on digits 0-4 learns 5-9 from a few labels", "~8-25 s"),
    # Deeper demos register here: DemoInfo("<id>", "<module>", "<title>", "<lesson id>", "<shows>", "<time>"),
]


def all_demos() -> list[DemoInfo]:
    return list(DEMOS)


def ids() -> list[str]:
    return [d.id for d in DEMOS]


def get(demo_id: str) -> DemoInfo:
    """The demo called ``demo_id`` (``_`` and ``-`` are interchangeable); TutorError (exit 2) otherwise."""
    key = demo_id.strip().lower().replace("_", "-")
    for info in DEMOS:
        if info.id == key:
            return info
    close = difflib.get_close_matches(key, ids(), n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise TutorError(f"unknown demo {demo_id!r}: {hint}valid ids: {', '.join(ids())}")


def load(info: DemoInfo):
    """Import the demo's module (this is where torch gets imported)."""
    return importlib.import_module(f"tutor.demos.{info.module}")
