"""Demo journal and settings fixes: what ``--precision auto`` picked, and folder names that are not UTF-8."""

from __future__ import annotations

import json

import pytest

from tutor.cli import app

QUICK_XOR = ["demo", "xor", "--quick", "--epochs", "3", "--set", "n_points=120"]


def test_a_run_with_precision_auto_journals_what_auto_picked(runner):
    run = runner.invoke(app, QUICK_XOR + ["--precision", "auto", "--json"])
    assert run.exit_code == 0, run.output
    history = runner.invoke(app, ["demo", "--history", "--json"])
    (row,) = json.loads(history.stdout)
    assert row["config"]["precision"] == "auto"  # the setting as asked: a rerun asks the same
    assert row["metrics"]["precision"] == "fp32"  # what it ran in (xor is too small for bf16 to pay)
    table = runner.invoke(app, ["demo", "--history"])
    assert "precision=auto→fp32" in table.stdout, table.stdout


def test_the_history_shows_auto_alone_for_a_journal_written_before_and_never_a_made_up_choice(runner):
    from tutor.store import Store

    with Store() as store:
        store.record_demo_run("mnist-mlp", {"epochs": 3, "precision": "auto"}, {"test_acc": 0.9}, "cpu", 2.0)
        store.record_demo_run("mnist-mlp", {"epochs": 3, "precision": "auto"}, {"test_acc": 0.9, "precision": "bf16"},
                              "cpu", 2.0)
        store.record_demo_run("mnist-mlp", {"epochs": 3, "precision": "bf16"}, {"test_acc": 0.9, "precision": "bf16"},
                              "cpu", 2.0)
    lines = runner.invoke(app, ["demo", "--history"], env={"COLUMNS": "120"}).stdout.splitlines()
    rows = [line for line in lines if "mnist-mlp" in line]
    assert "precision=bf16" in rows[0] and "→" not in rows[0]  # asked for bf16: nothing to add
    assert "precision=auto→bf16" in rows[1]
    assert rows[2].rstrip().endswith("precision=auto")  # an older row: what auto picked was not kept


@pytest.mark.slow
def test_a_folder_name_that_is_not_utf8_reads_the_same_in_the_settings_and_in_the_error(tmp_path, capfd):
    """`--data-dir $'bad\\xff'` was written as the raw byte in the settings line and as ``\\udcff`` in the error.
    A folder without IDX files is now refused before PyTorch loads (it was after seconds of start-up)."""
    import os
    import subprocess
    import sys

    from tutor.render.training import setting_item

    folder = os.path.join(os.fsencode(str(tmp_path)), b"bad\xff")
    os.mkdir(folder)
    code = (
        "import sys\n"
        "from tutor.cli import app\n"
        "try:\n    app(sys.argv[1:])\nexcept SystemExit as exc:\n    print('EXIT', exc.code)\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, "demo", "mnist-mlp", "--quick", "--data-dir", folder],
                          capture_output=True, timeout=120, env={**os.environ, "COLUMNS": "300"})
    out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    assert out.split() == ["EXIT", "2", "NO-TORCH"], out + err
    shown = str(tmp_path) + "/bad\\xff"
    assert f"no MNIST IDX files in {shown}" in err and "udcff" not in err, err
    assert b"\xff" not in done.stdout + done.stderr  # never the raw byte, which a terminal shows as a box
    assert "Traceback" not in err
    # the settings line of a run whose folder holds the files shows the name as the error does
    assert setting_item("data_dir", os.fsdecode(folder)) == f"data_dir={shown}"


def test_xor_labels_agree_with_lesson_1_class_1_where_the_signs_differ():
    """Lesson 1 puts (0,0) and (1,1) in class 0; the demo's data made the same-sign quadrants class 1."""
    import numpy as np

    from tutor.training.data import make_2d

    x, y = make_2d("xor", n=400, noise=0.0, seed=0)  # (400, 2), (400,)
    assert np.array_equal(y, (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(y.dtype))


def test_a_zero_among_playground_layer_sizes_is_refused_and_a_lone_zero_names_no_activation(runner):
    """`--layers 0,8` ran as 8 without a word; `--layers 0` said "network 2 -> 1 (tanh)" with no tanh anywhere."""
    for args in (["playground", "--layers", "0,8", "--quick"], ["demo", "playground", "--set", "layers=8,0", "--quick"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "0 means no hidden layer and stands alone" in result.output
    alone = runner.invoke(app, ["playground", "--layers", "0", "--quick", "--epochs", "2"])
    assert alone.exit_code == 0, alone.output
    assert "network 2 -> 1 (no hidden layer, so no activation)" in alone.output


def test_the_train_figures_line_speaks_of_dropout_only_where_a_net_has_it(runner):
    xor = runner.invoke(app, QUICK_XOR)
    assert "train figures: averaged over the last epoch while training" in xor.output
    assert "dropout" not in xor.output.split("train figures", 1)[1].splitlines()[0]
    mlp = runner.invoke(app, ["playground", "--dropout", "0.2", "--quick", "--epochs", "2"])
    assert "averaged over the last epoch while training, dropout on" in mlp.output, mlp.output


def test_a_negative_number_where_a_value_goes_is_not_called_an_option(runner):
    """`dnn-tutor lesson -1` said "No such option: -1"; `lesson 0` and `lesson 99` get their own lines."""
    result = runner.invoke(app, ["lesson", "-1"])
    assert result.exit_code == 2
    assert "-1: negative numbers are not valid here" in result.output and "No such option" not in result.output
    assert "No such option: --bogus" in runner.invoke(app, ["lesson", "--bogus"]).output  # a real option is still one
