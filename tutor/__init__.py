"""dnn-tutor: a command-line tutor and exerciser for deep neural networks."""

__version__ = "0.1.0"
