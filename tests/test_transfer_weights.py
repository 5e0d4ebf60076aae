"""The pretrained CNN shipped in data/weights/: its hash, its size, its accuracy, and how to re-create it."""

from __future__ import annotations

import hashlib
import json

import pytest

from tutor import paths


@pytest.fixture
def meta():
    from tutor.demos import transfer

    return json.loads((paths.data_dir() / "weights" / transfer.META_FILE).read_text())


def test_shipped_file_matches_its_recorded_hash_and_is_small(meta):
    from tutor.demos import transfer

    path = paths.data_dir() / "weights" / transfer.WEIGHTS_FILE
    assert meta["file"] == path.name
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == meta["sha256"]
    assert len(data) == meta["bytes"] < 1_000_000


def test_record_says_how_it_was_made(meta):
    assert meta["command"] == "python -m tutor.demos.transfer --pretrain"
    assert isinstance(meta["seed"], int)
    assert "digits" in meta["data"] and "0-4" in meta["data"]
    assert 0.9 <= meta["holdout_acc"] <= 1.0
    assert meta["holdout_n"] > 100


@pytest.mark.slow
def test_shipped_backbone_scores_its_recorded_accuracy_on_the_held_out_split(meta):
    from tutor.demos import transfer
    from tutor.training.engine import evaluate

    net, loaded_meta = transfer.load_pretrained()
    assert loaded_meta == meta
    _, _, x_hold, y_hold = transfer.pretrain_data(meta["holdout_fraction"], meta["seed"])
    assert len(x_hold) == meta["holdout_n"]
    result = evaluate(net, x_hold, y_hold, device="cpu")
    assert result["acc"] >= meta["holdout_acc"] - 0.01


def test_a_changed_file_is_refused(tmp_path, meta):
    from tutor.demos import transfer
    from tutor.errors import TutorError

    shipped = paths.data_dir() / "weights"
    (tmp_path / transfer.META_FILE).write_text((shipped / transfer.META_FILE).read_text())
    (tmp_path / transfer.WEIGHTS_FILE).write_bytes((shipped / transfer.WEIGHTS_FILE).read_bytes() + b"\0")
    with pytest.raises(TutorError, match="re-create"):
        transfer.load_pretrained(tmp_path)


@pytest.mark.slow
def test_pretrain_command_writes_weights_and_a_matching_record(tmp_path, capsys):
    from tutor.demos import transfer

    assert transfer.main(["--pretrain", "--out", str(tmp_path), "--epochs", "2"]) == 0
    record = json.loads((tmp_path / transfer.META_FILE).read_text())
    weights = tmp_path / transfer.WEIGHTS_FILE
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == record["sha256"]
    assert record["epochs"] == 2 and record["command"] == transfer.PRETRAIN_COMMAND
    net, _ = transfer.load_pretrained(tmp_path)  # loads and passes its own hash check
    assert net.head.out_features == 5
    assert json.loads(capsys.readouterr().out)["sha256"] == record["sha256"]
