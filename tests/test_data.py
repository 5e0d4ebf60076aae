"""The data module: synthetic sets, the IDX reader, MNIST folders, the offline fallback."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from tutor.errors import TutorError
from tutor.training import data


def write_idx(path, array: np.ndarray, gz: bool = False, magic: bytes | None = None) -> None:
    header = magic if magic is not None else bytes([0, 0, 0x08, array.ndim])
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)


def fake_mnist(folder, n: int, prefix: str = "t10k", gz: bool = True, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
    return images, labels


@pytest.mark.parametrize("name", data.DATASETS_2D)
def test_make_2d_shapes_and_determinism(name):
    x, y = data.make_2d(name, 200, 0.1, seed=3)
    assert x.shape == (200, 2) and x.dtype == np.float32
    assert y.shape == (200,) and set(np.unique(y)) == {0, 1}
    x2, y2 = data.make_2d(name, 200, 0.1, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    x3, _ = data.make_2d(name, 200, 0.1, seed=4)
    assert not np.array_equal(x, x3)
    assert np.abs(x).max() < 2.5


def test_make_2d_unknown_name():
    with pytest.raises(TutorError, match="unknown dataset"):
        data.make_2d("donut")


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array, gz)
    back = data.read_idx(path)
    assert back.shape == (2, 3, 4)
    assert np.array_equal(back, array)


def test_read_idx_bad_magic(tmp_path):
    path = tmp_path / "bad"
    write_idx(path, np.zeros((2, 2), np.uint8), magic=b"\x12\x34\x08\x02")
    with pytest.raises(TutorError, match="bad magic number 0x12340802"):
        data.read_idx(path)


def test_read_idx_wrong_size(tmp_path):
    path = tmp_path / "short"
    write_idx(path, np.zeros((4, 4), np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(TutorError, match="truncated or corrupt"):
        data.read_idx(path)


def test_read_idx_garbage_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"\x1f\x8b" + b"not really gzip")
    with pytest.raises(TutorError, match="cannot read IDX file"):
        data.read_idx(path)


@pytest.mark.parametrize("layout", ["flat", "torchvision"])
@pytest.mark.parametrize("gz", [False, True])
def test_full_mnist_folder_both_layouts(tmp_path, layout, gz):
    folder = tmp_path / "m" if layout == "flat" else tmp_path / "m" / "MNIST" / "raw"
    fake_mnist(folder, 30, "train", gz)
    images, labels = fake_mnist(folder, 10, "t10k", gz, seed=1)
    d = data.load_mnist_dir(tmp_path / "m")
    assert d.source == "mnist" and d.notice is None
    assert d.x_train.shape == (30, 1, 28, 28) and d.x_test.shape == (10, 1, 28, 28)
    assert d.x_train.dtype == np.float32 and 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    assert np.array_equal(d.y_test, labels.astype(np.int64))
    assert np.allclose(d.x_test[:, 0] * 255, images)


def test_only_test_set_is_split_and_said(tmp_path):
    fake_mnist(tmp_path, 100, "t10k")
    d = data.load_mnist_dir(tmp_path, test_size=20, train_size=80)
    assert d.source == "mnist-split"
    assert len(d.x_train) == 80 and len(d.x_test) == 20
    assert "split it 80 train / 20 test" in d.notice
    d2 = data.load_mnist_dir(tmp_path, test_size=20, train_size=80)
    assert np.array_equal(d.y_train, d2.y_train)  # fixed seed


def test_mismatched_counts(tmp_path):
    fake_mnist(tmp_path, 10, "t10k", gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(7, np.uint8))
    with pytest.raises(TutorError, match="10 images but .* 7 labels"):
        data.load_mnist_dir(tmp_path)


@pytest.mark.parametrize("n, words", [(0, "holds 0 image"), (3, "holds 3 image")])
def test_too_few_images_to_split_is_one_clear_error(tmp_path, n, words):
    fake_mnist(tmp_path, n, "t10k")
    with pytest.raises(TutorError, match=words):
        data.load_mnist_dir(tmp_path)


def test_no_images_in_a_full_set_is_one_clear_error(tmp_path):
    fake_mnist(tmp_path, 0, "train")
    fake_mnist(tmp_path, 5, "t10k")
    with pytest.raises(TutorError, match="holds no images"):
        data.load_mnist_dir(tmp_path)


def test_labels_outside_0_to_9_are_refused(tmp_path):
    fake_mnist(tmp_path, 60, "t10k", gz=False)
    labels = np.zeros(60, np.uint8)
    labels[7] = 12
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    with pytest.raises(TutorError, match="labels are digits 0-9, but this file holds the label 12"):
        data.load_mnist_dir(tmp_path)


def test_images_that_are_not_28x28_are_refused(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((60, 8, 8), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(60, np.uint8))
    with pytest.raises(TutorError, match="expected 28x28 MNIST images, found 8x8"):
        data.load_mnist_dir(tmp_path)


def test_a_header_claiming_a_huge_shape_is_refused(tmp_path):
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">III", 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\0" * 10)
    with pytest.raises(TutorError, match="truncated or corrupt"):
        data.read_idx(path)


@pytest.mark.slow
def test_bad_idx_files_through_the_cli_are_one_line(runner, tmp_path):
    from tutor.cli import app

    fake_mnist(tmp_path, 3, "t10k")
    result = runner.invoke(app, ["demo", "mnist-mlp", "--quick", "--data-dir", str(tmp_path), "--device", "cpu"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "holds 3 image" in lines[0] and "Traceback" not in result.output


def test_empty_folder_is_one_clear_error(tmp_path):
    with pytest.raises(TutorError, match="no MNIST IDX files"):
        data.load_mnist_dir(tmp_path)


def test_shared_mnist_split(mnist_dir):
    d = data.load_mnist_dir(mnist_dir)
    assert len(d.x_train) == 8000 and len(d.x_test) == 2000
    assert "8,000 train / 2,000 test" in d.notice


@pytest.mark.slow
def test_offline_falls_back_to_digits(monkeypatch):
    calls = []
    monkeypatch.setattr(data, "network_available", lambda *a, **k: calls.append(1) or False)
    d = data.load_digits_data(None)
    assert calls, "the network probe must be consulted"
    assert d.source == "digits"
    assert d.x_train.shape[1:] == (1, 28, 28)
    assert len(d.x_train) + len(d.x_test) == 1797
    assert "8x8 digits" in d.notice and "upsampled" in d.notice


def test_cached_mnist_is_used_without_network(monkeypatch):
    monkeypatch.setattr(data, "network_available", lambda *a, **k: pytest.fail("no probe when cached"))
    fake_mnist(data.mnist_cache_dir() / "MNIST" / "raw", 50, "t10k")
    d = data.load_digits_data(None)
    assert d.source == "mnist-split"


def test_download_offline_is_exit_1(monkeypatch):
    monkeypatch.setattr(data, "network_available", lambda *a, **k: False)
    with pytest.raises(TutorError) as info:
        data.download_mnist()
    assert info.value.exit_code == 1


def test_network_probe_respects_offline_env(monkeypatch):
    monkeypatch.setenv("DNN_TUTOR_OFFLINE", "1")
    assert data.network_available() is False


def test_data_commands(runner, monkeypatch):
    from tutor.cli import app

    monkeypatch.setattr(data, "network_available", lambda *a, **k: False)
    result = runner.invoke(app, ["data", "download", "mnist"])
    assert result.exit_code == 1
    assert "cannot download MNIST" in result.output
    result = runner.invoke(app, ["data", "download", "cifar"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["data", "--json"])
    assert result.exit_code == 0
    assert '"mnist_complete": false' in result.output


@pytest.mark.slow
def test_download_online_path_uses_torchvision_into_the_cache(runner, monkeypatch):
    """Online: torchvision's MNIST writes MNIST/raw/ in the cache; later loads read it from there."""
    torchvision = pytest.importorskip("torchvision")
    from tutor.cli import app

    calls = []

    class FakeMNIST:
        def __init__(self, root, train=True, download=False):
            calls.append((root, train, download))
            raw = data.Path(root) / "MNIST" / "raw"
            fake_mnist(raw, 40 if train else 12, "train" if train else "t10k", gz=False)

    monkeypatch.setattr(data, "network_available", lambda *a, **k: True)
    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    result = runner.invoke(app, ["data", "download", "mnist"])
    assert result.exit_code == 0, result.output
    assert [c[1:] for c in calls] == [(True, True), (False, True)]
    assert calls[0][0] == str(data.mnist_cache_dir())
    monkeypatch.setattr(data, "network_available", lambda *a, **k: pytest.fail("cached: no probe"))
    d = data.load_digits_data(None)
    assert d.source == "mnist" and len(d.x_train) == 40 and len(d.x_test) == 12


def test_digits_are_read_without_importing_sklearn_datasets():
    """The 8x8 digits come from the CSV scikit-learn ships: no `import sklearn.datasets` (scipy, seconds)."""
    import subprocess
    import sys

    code = ("import sys; from tutor.training import data; x, y = data.digits_8x8(); "
            "print(x.shape, y.shape, int(y.min()), int(y.max()), float(x.max()), 'sklearn.datasets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["(1797,", "1,", "8,", "8)", "(1797,)", "0", "9", "1.0", "False"]


@pytest.mark.slow
def test_digits_match_sklearns_own_loader():
    from sklearn.datasets import load_digits

    images, labels = data._digits_arrays()  # (1797, 8, 8), (1797,)
    bunch = load_digits()
    assert np.array_equal(images, bunch.images) and np.array_equal(labels, bunch.target)
    images[0, 0, 0] = 99.0  # callers get their own copy
    assert data._digits_arrays()[0][0, 0, 0] == bunch.images[0, 0, 0]


def _pair(folder, images: np.ndarray, labels: np.ndarray, image_code: int = 0x08, label_code: int = 0x08):
    folder.mkdir(parents=True, exist_ok=True)
    for name, array, code in (("t10k-images-idx3-ubyte", images, image_code), ("t10k-labels-idx1-ubyte", labels, label_code)):
        header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
        (folder / name).write_bytes(header + array.tobytes())


def test_idx_files_that_are_not_bytes_are_refused(tmp_path):
    """Float pixels (NaN included) or float labels (3.5) are not MNIST: one line, never a silent cast."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (60, 28, 28)).astype(">f4")  # (60, 28, 28)
    images[0, 0, 0] = np.nan
    labels = rng.integers(0, 10, 60).astype(np.uint8)  # (60,)
    _pair(tmp_path / "f", images, labels, image_code=0x0D)
    with pytest.raises(TutorError, match="pixels are unsigned bytes .* 32-bit float"):
        data.load_mnist_dir(tmp_path / "f")
    byte_images = np.nan_to_num(images).astype(np.uint8)  # (60, 28, 28)
    _pair(tmp_path / "g", byte_images, labels.astype(">f4") + 0.5, label_code=0x0D)
    with pytest.raises(TutorError, match="labels are unsigned bytes"):
        data.load_mnist_dir(tmp_path / "g")


def test_blank_images_are_refused(tmp_path):
    _pair(tmp_path, np.zeros((60, 28, 28), np.uint8), np.zeros(60, np.uint8))  # the demos divide by the spread
    with pytest.raises(TutorError, match="every pixel of every image is 0"):
        data.load_mnist_dir(tmp_path)


def test_half_a_pair_names_the_missing_file(tmp_path):
    images, _ = fake_mnist(tmp_path / "full", 60, gz=False)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    with pytest.raises(TutorError, match="partner t10k-labels-idx1-ubyte"):
        data.load_mnist_dir(tmp_path)


def test_a_damaged_mnist_cache_falls_back_to_the_digits_with_a_notice(tmp_path, monkeypatch):
    """A download cut short leaves one truncated file in the cache: the demos said "its partner is not
    here" and stopped; the cache is the tool's own, so they fall back as when nothing is cached."""
    raw = data.mnist_cache_dir() / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 10)
    monkeypatch.setattr(data, "network_available", lambda *a, **k: False)
    digits = data.load_digits_data(None, seed=0)
    assert "incomplete or damaged" in digits.notice and "scikit-learn" in digits.notice


def test_a_gzip_file_with_damaged_data_is_one_line_and_the_cache_falls_back(tmp_path, monkeypatch):
    import gzip

    good = gzip.compress(b"\x00\x00\x08\x01" + (50).to_bytes(4, "big") + bytes(range(50)) * 200, compresslevel=1)
    bad = bytearray(good)
    for i in range(30, min(len(bad) - 10, 60)):
        bad[i] ^= 0xFF  # damage the deflate stream, keep the header
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(bytes(bad))
    with pytest.raises(TutorError, match="cannot read IDX file"):
        data.read_idx(path)
    raw = data.mnist_cache_dir()
    raw.mkdir(parents=True)
    (raw / path.name).write_bytes(bytes(bad))
    monkeypatch.setattr(data, "network_available", lambda *a, **k: False)
    assert "incomplete or damaged" in data.load_digits_data(None, seed=0).notice


@pytest.mark.parametrize("shape", [(0, 4294967295, 4294967295), tuple([2] * 255), (1, 2, 3, 4, 5)])
def test_idx_headers_no_real_file_has_are_one_line(tmp_path, shape):
    """A shape of (0, 2**32 - 1, 2**32 - 1) passed the size check (0 bytes of data) and crashed numpy;
    255 dimensions too. Each is refused in one line."""
    import struct

    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape))
    with pytest.raises(TutorError):
        data.read_idx(path)


def test_download_fetches_again_over_a_damaged_cache(monkeypatch):
    """Four empty files under the right names made `data download mnist` say "MNIST is in ..." and do
    nothing, while the demos said to run that very command."""
    raw = data.mnist_cache_dir() / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for names in data._MNIST_FILES.values():
        (raw / names[0]).write_bytes(b"")
    monkeypatch.setattr(data, "network_available", lambda *a, **k: False)
    with pytest.raises(TutorError, match="cannot download MNIST"):
        data.download_mnist()  # offline: it tried to fetch again, not "it is there"
    assert not data.find_mnist_files(data.mnist_cache_dir())
