"""Data for the demos: synthetic 2-D sets, MNIST and the offline digits fallback.

Everything here returns numpy arrays; the engine moves them to the device once.
This module imports neither torch nor rich at import time and never prints:
anything the learner should know comes back as a ``notice`` string.

Synthetic sets (:func:`make_2d`): ``xor``, ``spiral``, ``circle``, ``moons``, ``gaussian``, each
``(x (N, 2) float32, y (N,) int64)`` from a seed and a noise level, roughly inside [-1.2, 1.2]^2.

Handwritten digits (:func:`load_digits_data`): MNIST from ``--data-dir`` (our own IDX reader), from
the cache (downloaded by torchvision on first use when online), or - offline with nothing cached -
scikit-learn's 8x8 digits (shipped inside the package, upsampled to 28x28 so the same nets apply).

Sequences for the rnn demo (:func:`recall_first`, :func:`sine_windows`, :func:`sine_curve`) and
slices of the 8x8 digits for the optimizers and transfer demos (:func:`digits_8x8`,
:func:`split_by_class`, :func:`holdout_split`, :func:`labels_per_class`, :func:`place_on_canvas`).
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.errors import TutorError

DATASETS_2D = ("xor", "spiral", "circle", "moons", "gaussian")

# --------------------------------------------------------------------------------------------
# Synthetic 2-D sets
# --------------------------------------------------------------------------------------------


def make_2d(name: str, n: int = 400, noise: float = 0.1, seed: int = 0, turns: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A two-class 2-D set: ``x`` (n, 2) float32 and ``y`` (n,) int64 labels 0/1.

    ``noise`` is the standard deviation of Gaussian jitter added to each point (in data units;
    the sets live roughly in [-1, 1]^2). ``turns``: how far each spiral arm winds (spiral only).
    """
    rng = np.random.default_rng(seed)
    if name not in DATASETS_2D:
        raise TutorError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS_2D)}")
    half = n // 2
    if name == "xor":
        # Four quadrants with a small gap along the axes (as in the TensorFlow playground).
        x = rng.uniform(0.1, 1.0, size=(n, 2)) * rng.choice([-1.0, 1.0], size=(n, 2))  # (n, 2)
        y = (x[:, 0] * x[:, 1] < 0).astype(np.int64)  # (n,) 1 in quadrants II and IV: the signs differ, as XOR's bits do
        x = x + rng.normal(0.0, noise, size=x.shape)  # jitter after labelling: the edges blur
    elif name == "spiral":
        # Two arms that wind `turns` times around the origin, the second rotated by half a turn.
        y = np.repeat([0, 1], [half, n - half])  # (n,)
        r = np.concatenate([np.linspace(0.1, 1.0, half), np.linspace(0.1, 1.0, n - half)])  # (n,)
        theta = 2.0 * np.pi * turns * r + np.pi * y  # (n,) the angle grows with the radius
        x = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)  # (n, 2)
        x = x + rng.normal(0.0, noise, size=x.shape)
    elif name == "circle":
        # A disc of class 1 inside a ring of class 0.
        y = np.repeat([1, 0], [half, n - half])  # (n,)
        r = np.where(y == 1, rng.uniform(0.0, 0.5, n), rng.uniform(0.7, 1.0, n))  # (n,)
        angle = rng.uniform(0.0, 2 * np.pi, n)  # (n,)
        x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)  # (n, 2)
        x = x + rng.normal(0.0, noise, size=x.shape)
    elif name == "moons":
        y = np.repeat([0, 1], [half, n - half])  # (n,)
        t = rng.uniform(0.0, np.pi, n)  # (n,)
        upper = np.stack([np.cos(t), np.sin(t)], axis=1)  # (n, 2)
        lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)  # (n, 2)
        x = np.where(y[:, None] == 0, upper, lower)  # (n, 2)
        x = (x - np.array([0.5, 0.25])) / 1.25  # centre on the origin, fit inside [-1.2, 1.2]
        x = x + rng.normal(0.0, noise, size=x.shape)
    else:  # gaussian: two blobs
        y = np.repeat([0, 1], [half, n - half])  # (n,)
        centres = np.array([[-0.5, -0.5], [0.5, 0.5]])  # (2, 2)
        x = centres[y] + rng.normal(0.0, 0.25 + noise, size=(n, 2))  # (n, 2)
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order].astype(np.int64)


def train_test_split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.25, seed: int = 0):
    """Shuffle with ``seed`` and split: ``(x_train, y_train, x_test, y_test)``."""
    n = len(x)
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(n * test_fraction)))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


# --------------------------------------------------------------------------------------------
# IDX files (MNIST's format)
# --------------------------------------------------------------------------------------------

MAX_IDX_BYTES = 256 * 2**20  # unpacked; a cap so a hostile file cannot fill the memory
_IDX_TYPES: dict[int, object] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_NAMES = {"|i1": "signed byte", ">i2": "16-bit integer", ">i4": "32-bit integer", ">f4": "32-bit float",
              ">f8": "64-bit float"}


def read_idx(path: Path | str) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a numpy array.

    The header is two zero bytes, a type code, the number of dimensions, then one big-endian
    uint32 per dimension. Anything else raises :class:`TutorError` with one clear line.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            raw = fh.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, gzip.BadGzipFile, ValueError, zlib.error) as exc:  # zlib.error: damaged deflate data
        raise TutorError(f"cannot read IDX file {path}: {exc}") from None
    if len(raw) > MAX_IDX_BYTES:
        raise TutorError(f"{path} is larger than {MAX_IDX_BYTES // 2**20} MiB unpacked; MNIST's largest file is 45 MiB")
    if not raw:
        raise TutorError(f"{path} is empty: an IDX file starts with a 4-byte header (a download cut short?)")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        magic = raw[:4].hex() if len(raw) >= 4 else raw.hex() or "empty"
        raise TutorError(
            f"{path} is not an IDX file: bad magic number 0x{magic} (expected 0x0000 then a type code and a dimension count)"
        )
    ndim = raw[3]
    if ndim == 0 or ndim > 4 or len(raw) < 4 + 4 * ndim:
        raise TutorError(f"{path}: IDX header is truncated or has {ndim} dimensions (MNIST's files have 1 or 3)")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])  # type: ignore[call-overload]
    expected = math.prod(shape) * dtype.itemsize
    body = len(raw) - 4 - 4 * ndim
    if body != expected:
        raise TutorError(
            f"{path}: IDX header says shape {shape} ({expected} bytes of data) but the file holds {body} bytes; it is truncated or corrupt"
        )
    try:
        return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(shape)
    except (ValueError, MemoryError) as exc:  # a header no real file has
        raise TutorError(f"{path}: IDX header says shape {shape}, which cannot be read ({exc})") from None


_MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def find_mnist_files(directory: Path | str) -> dict[str, Path]:
    """The MNIST IDX files present in ``directory`` or its ``MNIST/raw`` / ``raw`` sub-folders.

    Keys are ``train_images``, ``train_labels``, ``test_images``, ``test_labels`` (only those found).
    Plain files are preferred over ``.gz`` ones when both are there.
    """
    directory = Path(directory)
    found: dict[str, Path] = {}
    for folder in (directory, directory / "MNIST" / "raw", directory / "raw"):
        if not folder.is_dir():
            continue
        for key, names in _MNIST_FILES.items():
            if key in found:
                continue
            for name in names:
                for candidate in (folder / name, folder / f"{name}.gz"):
                    if candidate.is_file():
                        found[key] = candidate
                        break
                if key in found:
                    break
    return found


def check_mnist_folder(directory: Path | str) -> dict[str, Path]:
    """The IDX files of a ``--data-dir`` that holds a whole MNIST set (see :func:`find_mnist_files`); TutorError
    where it holds none: no IDX files at all, or images without their labels. File names only, nothing read:
    a demo says so before PyTorch loads."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TutorError(f"--data-dir {directory} is not a directory")
    files = find_mnist_files(directory)
    if any(pair <= files.keys() for pair in ({"train_images", "train_labels"}, {"test_images", "test_labels"})):
        return files
    if files:  # half a pair: images without their labels, or the other way round
        have = sorted(files)[0]
        which, kind = have.split("_")
        missing = _MNIST_FILES[f"{which}_{'labels' if kind == 'images' else 'images'}"][0]
        raise TutorError(f"{files[have]} is here but its partner {missing}[.gz] is not; "
                         f"MNIST needs both the images and the labels file of a set")
    raise TutorError(
        f"no MNIST IDX files in {directory} (looked for t10k-images-idx3-ubyte[.gz] and friends, "
        "also under MNIST/raw/)"
    )


@dataclass
class DigitData:
    """Handwritten digits ready for a net: images (N, 1, H, W) float32 in [0, 1], labels (N,) int64."""

    x_train: np.ndarray  # (N_train, 1, H, W)
    y_train: np.ndarray  # (N_train,)
    x_test: np.ndarray  # (N_test, 1, H, W)
    y_test: np.ndarray  # (N_test,)
    source: str  # "mnist", "mnist-split" (test set only, split) or "digits" (offline fallback)
    description: str  # one line for the run's header, e.g. "MNIST: 60,000 train / 10,000 test"
    notice: str | None = None  # something the learner should be told (fallback, split)

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[-1])


def _images_labels(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    for path, array, what in ((images_path, images, "pixels"), (labels_path, labels, "labels")):
        if array.dtype != np.uint8:  # MNIST stores both as unsigned bytes (IDX type 0x08)
            raise TutorError(f"{path}: MNIST {what} are unsigned bytes (IDX type 0x08), but this file holds "
                             f"{_IDX_NAMES.get(array.dtype.str, array.dtype.name)} values")
    if images.ndim != 3:
        raise TutorError(f"{images_path}: expected images of shape (N, rows, cols), found {images.shape}")
    if labels.ndim != 1:
        raise TutorError(f"{labels_path}: expected labels of shape (N,), found {labels.shape}")
    if len(images) != len(labels):
        raise TutorError(
            f"{images_path.name} holds {len(images)} images but {labels_path.name} holds {len(labels)} labels; they must match"
        )
    if images.shape[1:] != (28, 28):
        raise TutorError(f"{images_path}: expected 28x28 MNIST images, found {images.shape[1]}x{images.shape[2]}")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) > 9):
        bad = int(labels.max()) if int(labels.max()) > 9 else int(labels.min())
        raise TutorError(f"{labels_path}: MNIST labels are digits 0-9, but this file holds the label {bad}")
    if images.size and int(images.min()) == int(images.max()):  # the demos divide by the pixels' spread
        raise TutorError(f"{images_path}: every pixel of every image is {int(images.min())}; these are not digits")
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]  # (N, 1, 28, 28)
    return x, labels.astype(np.int64)


MIN_SPLIT_IMAGES = 50  # one IDX set split into training and test images: at least 40 + 10


def load_mnist_dir(directory: Path | str, split_seed: int = 0, test_size: int = 2000, train_size: int = 8000) -> DigitData:
    """MNIST from the IDX files in ``directory`` (see :func:`find_mnist_files`).

    With only the 10,000 test images present they are split ``train_size`` / ``test_size`` with a
    fixed seed, and the returned ``notice`` says so.
    """
    directory = Path(directory)
    files = check_mnist_folder(directory)  # a whole set (train, test or both) is there
    has_train = {"train_images", "train_labels"} <= files.keys()
    has_test = {"test_images", "test_labels"} <= files.keys()
    if has_train and has_test:
        x_tr, y_tr = _images_labels(files["train_images"], files["train_labels"])
        x_te, y_te = _images_labels(files["test_images"], files["test_labels"])
        for name, count in ((files["train_images"], len(x_tr)), (files["test_images"], len(x_te))):
            if count == 0:
                raise TutorError(f"{name} holds no images")
        return DigitData(x_tr, y_tr, x_te, y_te, "mnist",
                         f"MNIST from {directory}: {len(x_tr):,} train / {len(x_te):,} test images")
    which = "test" if has_test else "train"  # only one of the two sets
    x, y = _images_labels(files[f"{which}_images"], files[f"{which}_labels"])
    if len(x) < MIN_SPLIT_IMAGES:
        raise TutorError(f"{files[f'{which}_images']} holds {len(x)} image(s); splitting it into training and "
                         f"test images needs at least {MIN_SPLIT_IMAGES}")
    order = np.random.default_rng(split_seed).permutation(len(x))
    n_test = min(test_size, len(x) // 5)
    n_train = min(train_size, len(x) - n_test)
    test, train = order[:n_test], order[n_test:n_test + n_train]
    notice = (
        f"only the MNIST {which} set ({len(x):,} images) is in {directory}: "
        f"split it {n_train:,} train / {n_test:,} test (fixed seed {split_seed})"
    )
    return DigitData(x[train], y[train], x[test], y[test], "mnist-split",
                     f"MNIST {which} set split {n_train:,} train / {n_test:,} test", notice)


# --------------------------------------------------------------------------------------------
# Network, cache and download
# --------------------------------------------------------------------------------------------

MNIST_HOST = ("ossci-datasets.s3.amazonaws.com", 443)
PROBE_TIMEOUT_S = 3.0


def network_available(host: tuple[str, int] = MNIST_HOST, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when a TCP connection to ``host`` opens within ``timeout`` seconds (never longer).

    Tests monkeypatch this function to simulate being offline. ``DNN_TUTOR_OFFLINE=1`` forces False.
    """
    if os.environ.get("DNN_TUTOR_OFFLINE", "").strip() not in ("", "0"):
        return False
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


def mnist_cache_dir() -> Path:
    """Where MNIST is cached: ``<cache>/mnist`` (torchvision puts its files in ``MNIST/raw``)."""
    from tutor import paths

    return paths.cache_dir() / "mnist"


def download_mnist() -> Path:
    """Download MNIST into the cache with torchvision; return the folder.

    Raises :class:`TutorError` (exit 1) when offline or when the download fails.
    """
    root = mnist_cache_dir()
    found = find_mnist_files(root)
    if len(found) == 4:
        try:
            load_mnist_dir(root)
            return root
        except TutorError:  # a cut-short or damaged download: the cache is ours, so it is fetched again
            for path in found.values():
                with contextlib.suppress(OSError):
                    path.unlink()
            for path in (root / "MNIST" / "raw").glob("*.gz"):
                with contextlib.suppress(OSError):
                    path.unlink()
    if not network_available():
        raise TutorError(
            f"cannot download MNIST: no network connection to {MNIST_HOST[0]} (offline?); "
            "copy the four IDX files into a folder and pass --data-dir instead",
            exit_code=1,
        )
    try:
        from torchvision.datasets import MNIST

        socket.setdefaulttimeout(30)
        MNIST(root=str(root), train=True, download=True)
        MNIST(root=str(root), train=False, download=True)
    except Exception as exc:  # noqa: BLE001 - any failure becomes one line
        raise TutorError(f"downloading MNIST failed: {type(exc).__name__}: {exc}", exit_code=1) from None
    finally:
        socket.setdefaulttimeout(None)
    if len(find_mnist_files(root)) != 4:
        raise TutorError(f"MNIST download finished but the IDX files are not in {root / 'MNIST' / 'raw'}", exit_code=1)
    return root


_DIGITS_CACHE: list = []


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: images (1797, 8, 8) float64 with values 0..16 and labels (1797,) int64.

    Read straight from the CSV file scikit-learn ships beside its loaders: ``import sklearn.datasets``
    loads scipy and costs seconds (2-15 s measured on a busy 2-core machine, against well under one
    for the file). Falls back to scikit-learn's own loader when the file is not where it is expected.
    Fresh copies every call (read once per process).
    """
    if not _DIGITS_CACHE:
        import importlib.util

        table = None
        spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
        if spec is not None and spec.origin:
            path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
            try:
                table = np.loadtxt(path, delimiter=",")  # (1797, 65): 64 pixels, then the label
            except (OSError, ValueError, EOFError):
                table = None
        if table is not None and table.shape == (1797, 65):
            images, labels = table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(np.int64)  # (1797, 8, 8), (1797,)
        else:
            from sklearn.datasets import load_digits

            bunch = load_digits()
            images, labels = bunch.images.astype(np.float64), bunch.target.astype(np.int64)
        _DIGITS_CACHE.append((images, labels))
    images, labels = _DIGITS_CACHE[0]
    return images.copy(), labels.copy()


def load_sklearn_digits(seed: int = 0, size: int = 28, test_fraction: float = 0.2) -> DigitData:
    """scikit-learn's 1,797 8x8 digits (shipped with the package), upsampled to ``size`` x ``size``.

    The 8x8 images (values 0..16) are scaled to [0, 1] and resized bilinearly to 20x20, then padded
    by 4 pixels to 28x28 - the way MNIST centres its 20x20 digits - so an MNIST net takes them as is.
    """
    raw, labels = _digits_arrays()  # (1797, 8, 8) values 0..16, (1797,)
    images = raw.astype(np.float32) / 16.0  # (1797, 8, 8)
    if size != 8:
        inner = size - 8 if size >= 16 else size
        images = _resize_bilinear(images, inner)  # (1797, inner, inner)
        pad = (size - inner) // 2
        images = np.pad(images, ((0, 0), (pad, size - inner - pad), (pad, size - inner - pad)))  # (1797, size, size)
    x = images[:, None, :, :].astype(np.float32)  # (1797, 1, size, size)
    x_tr, y_tr, x_te, y_te = train_test_split(x, labels, test_fraction, seed)
    how = f"upsampled to {size}x{size}" if size != 8 else "at 8x8"
    return DigitData(x_tr, y_tr, x_te, y_te, "digits",
                     f"scikit-learn 8x8 digits {how}: {len(x_tr):,} train / {len(x_te):,} test")


def _resize_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (N, h, w) images to (N, size, size), pixel centres aligned."""
    n, h, w = images.shape
    ys = np.clip((np.arange(size) + 0.5) * h / size - 0.5, 0, h - 1)  # (size,)
    xs = np.clip((np.arange(size) + 0.5) * w / size - 0.5, 0, w - 1)  # (size,)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    wy = (ys - y0)[None, :, None]  # (1, size, 1)
    wx = (xs - x0)[None, None, :]  # (1, 1, size)
    top = images[:, y0][:, :, x0] * (1 - wx) + images[:, y0][:, :, x1] * wx  # (N, size, size)
    bottom = images[:, y1][:, :, x0] * (1 - wx) + images[:, y1][:, :, x1] * wx  # (N, size, size)
    return top * (1 - wy) + bottom * wy


def load_digits_data(data_dir: Path | str | None = None, allow_download: bool = True, seed: int = 0) -> DigitData:
    """Handwritten digits for a demo, best source first.

    1. ``data_dir`` given: the IDX files there (errors if there are none).
    2. MNIST already in the cache.
    3. Online (a <= 3 s probe): download MNIST into the cache with torchvision.
    4. Otherwise scikit-learn's 8x8 digits, with a one-line ``notice``.
    """
    if data_dir is not None:
        return load_mnist_dir(data_dir, split_seed=seed)
    cached = mnist_cache_dir()
    broken = ""
    if find_mnist_files(cached):
        try:
            return load_mnist_dir(cached, split_seed=seed)
        except TutorError as exc:  # a download cut short, a damaged file: the cache is ours, not the learner's
            broken = f"the MNIST cache is incomplete or damaged ({exc.message}); "
    if allow_download and network_available():
        try:
            return load_mnist_dir(download_mnist(), split_seed=seed)
        except TutorError as exc:
            data = load_sklearn_digits(seed)
            data.notice = f"{exc.message}; using scikit-learn's 8x8 digits instead (upsampled to 28x28)"
            return data
    data = load_sklearn_digits(seed)
    data.notice = (
        f"{broken or 'MNIST is not cached and '}the network is unreachable: using scikit-learn's 8x8 digits "
        "(upsampled to 28x28) instead; run `dnn-tutor data download mnist` when online, or pass --data-dir"
    )
    return data


def describe_cache() -> dict:
    """What is in the dataset cache (for ``dnn-tutor data``)."""
    root = mnist_cache_dir()
    files = find_mnist_files(root)
    return {
        "cache_dir": str(root),
        "mnist_files": {k: str(v) for k, v in sorted(files.items())},
        "mnist_complete": len(files) == 4,
    }


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
# Slices of the 8x8 digits (optimizers, transfer)
# --------------------------------------------------------------------------------------------


def digits_8x8() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: images (1797, 1, 8, 8) float32 in [0, 1] and labels (1797,) int64."""
    raw, labels = _digits_arrays()  # (1797, 8, 8), (1797,)
    x = (raw.astype(np.float32) / 16.0)[:, None, :, :]  # (1797, 1, 8, 8)
    return x, labels


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
