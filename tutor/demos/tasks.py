"""Data for the deeper demos: sequence tasks and slices of the handwritten digits.

numpy only, seeded, no printing; every function returns arrays the shared engine takes as is.

- :func:`recall_first`   sequences where the answer is the FIRST symbol, shown T steps earlier.
- :func:`sine_windows`   windows of noisy sine waves; the target is the next value.
- :func:`digits_8x8`     scikit-learn's 1,797 8x8 digits (always available, shipped with sklearn).
- :func:`split_by_class` / :func:`labels_per_class` / :func:`stratified_subset`: the slices the
  overfitting and transfer demos need (a few labels per class, one half of the classes).
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------------------------


def recall_first(n: int, length: int, n_symbols: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The "remember the first symbol" task: ``x`` (n, length, n_symbols + 1) float32, ``y`` (n,) int64.

    Step 0 shows one of ``n_symbols`` symbols (one-hot) together with a start flag (the last
    channel). Steps 1..length-1 show random distractor symbols from the same alphabet. The label is
    the symbol of step 0, so a network must carry it unchanged across ``length - 1`` steps of
    distraction; guessing gives ``1 / n_symbols``.
    """
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, n_symbols, size=(n, length))  # (n, T) symbol at every step
    x = np.zeros((n, length, n_symbols + 1), dtype=np.float32)  # (n, T, K+1)
    rows = np.arange(n)[:, None]  # (n, 1)
    steps = np.arange(length)[None, :]  # (1, T)
    x[rows, steps, symbols] = 1.0  # one-hot symbols
    x[:, 0, n_symbols] = 1.0  # the start flag marks the symbol to remember
    y = symbols[:, 0].astype(np.int64)  # (n,) the first symbol
    return x, y


def sine_windows(n: int, window: int, noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Windows of sine waves with random frequency, phase and amplitude; predict the next value.

    ``x`` (n, window, 1) float32 and ``y`` (n,) float32. Each wave is
    ``a * sin(w * t + phi)`` sampled at t = 0, 1, 2...; ``noise`` is added to the inputs only.
    """
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.15, 0.45, size=(n, 1))  # (n, 1) radians per step: 14 to 42 steps a period
    phi = rng.uniform(0.0, 2 * np.pi, size=(n, 1))  # (n, 1)
    amp = rng.uniform(0.5, 1.0, size=(n, 1))  # (n, 1)
    t = np.arange(window + 1)[None, :]  # (1, window + 1)
    wave = amp * np.sin(w * t + phi)  # (n, window + 1)
    x = wave[:, :window] + rng.normal(0.0, noise, size=(n, window))  # (n, window) noisy inputs
    y = wave[:, window]  # (n,) the clean next value
    return x[:, :, None].astype(np.float32), y.astype(np.float32)


def sine_curve(length: int, freq: float = 0.3, phase: float = 0.5, amp: float = 0.9,
               noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One long wave for the forecast picture: noisy ``observed`` (length,) and clean ``true`` (length,)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)  # (L,)
    true = amp * np.sin(freq * t + phase)  # (L,)
    observed = true + rng.normal(0.0, noise, size=length)  # (L,)
    return observed.astype(np.float32), true.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Digits
# --------------------------------------------------------------------------------------------


def digits_8x8() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: images (1797, 1, 8, 8) float32 in [0, 1] and labels (1797,) int64."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None, :, :]  # (1797, 1, 8, 8)
    return x, bunch.target.astype(np.int64)


def split_by_class(x: np.ndarray, y: np.ndarray, classes) -> tuple[np.ndarray, np.ndarray]:
    """Only the samples whose label is in ``classes``, relabelled 0..len(classes)-1 in that order."""
    classes = list(classes)
    keep = np.isin(y, classes)  # (N,)
    relabel = {c: i for i, c in enumerate(classes)}
    y_new = np.array([relabel[int(v)] for v in y[keep]], dtype=np.int64)
    return x[keep], y_new


def holdout_split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """A stratified split: ``(x_a, y_a, x_b, y_b)`` with about ``fraction`` of each class in b."""
    rng = np.random.default_rng(seed)
    a_idx, b_idx = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(len(idx) * fraction))
        b_idx.append(idx[:k])
        a_idx.append(idx[k:])
    a = np.sort(np.concatenate(a_idx))
    b = np.sort(np.concatenate(b_idx))
    return x[a], y[a], x[b], y[b]


def labels_per_class(x: np.ndarray, y: np.ndarray, k: int, seed: int):
    """``k`` samples of every class (drawn with ``seed``): ``(x_k, y_k)``."""
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:k] for c in np.unique(y)])
    idx = rng.permutation(idx)
    return x[idx], y[idx]


def stratified_subset(x: np.ndarray, y: np.ndarray, n: int, seed: int):
    """About ``n`` samples with every class in proportion (for a small training subset)."""
    per_class = max(1, n // len(np.unique(y)))
    return labels_per_class(x, y, per_class, seed)


def place_on_canvas(x: np.ndarray, canvas: int, noise: float, seed: int, centred: bool = False) -> np.ndarray:
    """Put each 8x8 image (N, 1, 8, 8) somewhere on a ``canvas`` x ``canvas`` background with noise.

    The offset is drawn per image (``centred=True`` puts every digit in the middle); ``noise`` is
    the standard deviation of Gaussian "paper" noise over the whole canvas. Returns (N, 1, canvas, canvas).
    """
    rng = np.random.default_rng(seed)
    n, size = len(x), x.shape[-1]
    out = np.zeros((n, 1, canvas, canvas), dtype=np.float32)  # (N, 1, S, S)
    room = canvas - size + 1
    offsets = np.full((n, 2), (canvas - size) // 2) if centred else rng.integers(0, room, size=(n, 2))  # (N, 2)
    for i, (top, left) in enumerate(offsets):
        out[i, 0, top:top + size, left:left + size] = x[i, 0]
    if noise > 0:
        out += rng.normal(0.0, noise, size=out.shape).astype(np.float32)
    return out
