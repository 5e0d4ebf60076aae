"""Bad values for demo, playground, bench and demo --history: one line on stderr naming the flag that was
typed and what it accepts, exit 2, no traceback, nothing trained and nothing journaled.

The table is built from the same declarations the validation reads (every numeric Config field of every
demo, through ``--set``), plus every numeric flag of the commands.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
import typer.main
import typer.testing

from tutor.cli import app
from tutor.demos import registry
from tutor.training.session import _kind

MARKUP = "[/red]"
BAD_NUMBERS = ["abc", "-5", "--5", "+-3", "nan", "inf", "-inf", "1e400", "99999999999999999999", "", "３", MARKUP, "1,2,,"]
BAD_FLOATS = BAD_NUMBERS[:-1]

# (command, flag, bad values that must be refused)
FLAGS = [
    (["demo", "xor"], "--seed", BAD_NUMBERS + ["4294967296", "1.5"]),
    (["demo", "xor"], "--epochs", BAD_NUMBERS + ["0", "1.5"]),
    (["demo", "xor"], "--lr", BAD_FLOATS + ["0", "11"]),
    (["demo", "xor"], "--batch-size", BAD_NUMBERS + ["0"]),
    (["demo", "rnn"], "--length", BAD_NUMBERS + ["0", "1"]),
    (["demo", "rnn"], "--task", ["music", "", MARKUP, "RECALL"]),
    (["demo", "transfer"], "--backbone", ["resnet50", "", MARKUP]),
    (["demo", "xor"], "--precision", ["fp64", "", MARKUP]),
    (["demo", "--history"], "--limit", BAD_NUMBERS + ["0", "1e20"]),
    (["playground"], "--layers", BAD_NUMBERS + ["8,x", "-4", "8,,8", "1,2,3,4,5,6,7,8,9", "2000"]),
    (["playground"], "--l2", BAD_FLOATS + ["11"]),
    (["playground"], "--dropout", BAD_FLOATS + ["0.93", "1"]),
    (["playground"], "--noise", BAD_FLOATS + ["-1"]),
    (["playground"], "--points", BAD_NUMBERS + ["0", "7"]),
    (["playground"], "--seed", BAD_NUMBERS),
    (["playground"], "--epochs", BAD_NUMBERS + ["0"]),
    (["playground"], "--lr", BAD_FLOATS + ["0"]),
    (["playground"], "--batch-size", BAD_NUMBERS + ["0"]),
    (["playground"], "--dataset", ["donut", "", MARKUP]),
    (["playground"], "--activation", ["swish", "", MARKUP]),
    (["playground"], "--optimizer", ["lion", "", MARKUP]),
    (["bench"], "--epochs", BAD_NUMBERS + ["0"]),
    (["bench"], "--repeats", BAD_NUMBERS + ["0"]),
    (["bench"], "--batch-size", BAD_NUMBERS + ["0"]),
    (["bench"], "--limit", BAD_NUMBERS + ["0"]),
    (["bench"], "--hidden", BAD_NUMBERS + ["0", "64,x"]),
    (["bench"], "--seed", BAD_NUMBERS),
]


def _bad_for(field: dataclasses.Field) -> list[str]:
    """Bad texts for one Config field, from its declaration."""
    base, element, _ = _kind(field.type)
    meta = field.metadata
    if meta.get("choices"):
        return ["no-such-choice", "", MARKUP]
    if base == "bool":
        return ["maybe", ""]
    if base == "str":
        return []
    values = ["abc", "nan", "inf", "1e400", "", "３", MARKUP]
    kind = element if base == "tuple" else base
    if meta.get("min") is not None:
        values.append(str(meta["min"] - 1))
    if meta.get("above") is not None:
        values.append(str(meta["above"]))
    if meta.get("max") is not None:
        values.append(str(int(meta["max"]) * 10 + 1) if kind == "int" else str(meta["max"] * 10 + 1))
    if kind == "int":
        values.append("1.5")
    return values


COMMAND = typer.main.get_command(app)  # built once: the table runs hundreds of commands


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: COMMAND)
    return typer.testing.CliRunner()


SETS = []
for _info in registry.all_demos():
    for _field in dataclasses.fields(registry.load(_info).Config):
        for _value in _bad_for(_field):
            SETS.append((_info.id, _field.name, _value))


def _stderr(result) -> str:
    try:
        return result.stderr
    except (ValueError, AttributeError):  # pragma: no cover - older click
        return result.output


def _assert_refused(result, flag: str) -> str:
    err = _stderr(result)
    assert result.exit_code == 2, (result.output, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err + result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert lines[0].startswith("error: "), lines[0]
    assert flag in lines[0], lines[0]
    return lines[0]


def test_the_table_is_large():
    assert sum(len(values) for _, _, values in FLAGS) + len(SETS) >= 400


def test_every_number_in_every_config_declares_its_range():
    for info in registry.all_demos():
        for f in dataclasses.fields(registry.load(info).Config):
            base, element, _ = _kind(f.type)
            kind = element if base == "tuple" else base
            if kind in ("int", "float") and not f.metadata.get("choices"):
                assert f.metadata.get("max") is not None, f"{info.id}.{f.name} has no upper bound"
                assert f.metadata.get("min") is not None or f.metadata.get("above") is not None, f"{info.id}.{f.name}"


@pytest.mark.parametrize("command, flag, values", FLAGS, ids=[f"{' '.join(c)} {f}" for c, f, _ in FLAGS])
def test_each_flag_refuses_bad_values(runner, command, flag, values):
    for value in values:
        result = runner.invoke(app, [*command, flag, value, "--quick"] if command[0] != "bench" and "--history" not in command
                               else [*command, flag, value])
        line = _assert_refused(result, flag)
        assert "--set" not in line, line  # the flag the learner typed, never another spelling
        assert "tuple" not in line and "int]" not in line  # never a Python type


@pytest.mark.parametrize("demo_id", registry.ids())
def test_each_set_key_refuses_bad_values(runner, demo_id):
    cases = [(name, value) for d, name, value in SETS if d == demo_id]
    assert cases
    for name, value in cases:
        result = runner.invoke(app, ["demo", demo_id, "--quick", "--set", f"{name}={value}"])
        line = _assert_refused(result, f"--set {name}")
        assert "expected" in line, line


@pytest.mark.parametrize("args, words", [
    (["--set", "epochs"], "expected KEY=VALUE"),
    (["--set", "=3"], "expected KEY=VALUE"),
    (["--set", f"{MARKUP}=1"], MARKUP),
    (["--set", "hiden=3"], "did you mean hidden"),
    (["--set", "batch_size=-5"], "from 1 to"),
    (["--layers", "8,x"], "--layers"),
    (["--data-dir", "."], "--data-dir does not apply"),
    (["--device", "tpu"], "unknown device"),
    (["--device", MARKUP], MARKUP),
])
def test_other_mistakes_on_xor(runner, args, words):
    result = runner.invoke(app, ["demo", "xor", "--quick", *args])
    err = _stderr(result)
    assert result.exit_code == 2, (result.output, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], err


def test_the_messages_name_the_flag_and_the_range(runner):
    line = _assert_refused(runner.invoke(app, ["playground", "--layers", "8,x"]), "--layers")
    assert line == "error: --layers: expected 1 to 8 comma-separated whole numbers from 0 to 1,024, got '8,x'"
    line = _assert_refused(runner.invoke(app, ["playground", "--dropout", "0.93"]), "--dropout")
    assert "from 0 to 0.9" in line and "'0.93'" in line
    line = _assert_refused(runner.invoke(app, ["demo", "xor", "--seed", "-5"]), "--seed")
    assert "from 0 to 4,294,967,295" in line
    line = _assert_refused(runner.invoke(app, ["demo", "mnist-mlp", "--set", "epochs=0"]), "--set epochs")
    assert "or auto" in line


def test_nothing_is_journaled_after_refusals(runner):
    for args in (["demo", "xor", "--set", "batch_size=-5"], ["demo", "xor", "--lr", "inf"], ["playground", "--noise", "nan"]):
        assert runner.invoke(app, args).exit_code == 2
    result = runner.invoke(app, ["demo", "--history", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_save_plot_never_overwrites_without_force(runner, tmp_path):
    target = tmp_path / "plot.png"
    target.write_bytes(b"the learner's own picture")
    result = runner.invoke(app, ["demo", "xor", "--quick", "--save-plot", str(target)])
    line = _assert_refused(result, "--save-plot")
    assert "--force" in line
    assert target.read_bytes() == b"the learner's own picture"
    assert _assert_refused(runner.invoke(app, ["demo", "xor", "--save-plot", str(tmp_path)]), "--save-plot")
    assert _assert_refused(runner.invoke(app, ["demo", "xor", "--save-plot", str(tmp_path / "no" / "x.png")]),
                           "does not exist")


@pytest.mark.slow
def test_save_plot_with_force_overwrites(runner, tmp_path):
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    result = runner.invoke(app, ["demo", "xor", "--quick", "--epochs", "2", "--save-plot", str(target), "--force"])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_refusal_comes_before_torch_is_imported():
    code = (
        "import sys\n"
        "from tutor.cli import app\n"
        "try:\n    app(['demo', 'cnn', '--epochs', '0'])\nexcept SystemExit as exc:\n    print('EXIT', exc.code)\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["EXIT", "2", "NO-TORCH"], out.stdout + out.stderr
    assert "--epochs" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_importing_the_cli_changes_no_process_state():
    code = (
        "import os\n"
        "before = dict(os.environ)\n"
        "import tutor.cli\n"
        "print(sorted(set(os.environ.items()) ^ set(before.items())))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


ALL_FIELDS = [(info.id, f) for info in registry.all_demos() for f in dataclasses.fields(registry.load(info).Config)]


def _within(value, field) -> bool:
    import math

    meta = field.metadata
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if meta.get("choices") and v not in meta["choices"]:
            return False
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if meta.get("min") is not None and v < meta["min"]:
                return False
            if meta.get("max") is not None and v > meta["max"]:
                return False
            if meta.get("above") is not None and v <= meta["above"]:
                return False
    return True


@pytest.mark.slow
def test_any_text_is_either_a_value_in_range_or_one_clear_refusal():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    from tutor.errors import TutorError
    from tutor.training.session import parse_value

    texts = st.one_of(st.text(max_size=24), st.integers().map(str), st.floats().map(str),
                      st.lists(st.integers(-5, 5000), min_size=0, max_size=10).map(lambda xs: ",".join(map(str, xs))))

    @hypothesis.settings(max_examples=400, deadline=None, derandomize=True)
    @hypothesis.given(st.sampled_from(ALL_FIELDS), texts)
    def check(item, text):
        demo_id, field = item
        try:
            value = parse_value(f"--set {field.name}", text, field.type, dict(field.metadata))
        except TutorError as exc:
            assert exc.exit_code == 2
            assert exc.message.startswith(f"--set {field.name}: expected ")
            assert "\n" not in exc.message and len(exc.message) < 300
            return
        assert value is None or _within(value, field), (demo_id, field.name, text, value)

    check()


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_data_dir_is_refused_not_ignored(runner, value):
    """`--data-dir "$MNIST"` with the variable unset must not quietly fall back to other data."""
    line = _assert_refused(runner.invoke(app, ["demo", "mnist-mlp", "--quick", "--data-dir", value]), "--data-dir")
    assert "expected a folder" in line
    line = _assert_refused(runner.invoke(app, ["demo", "mnist-mlp", "--quick", "--set", f"data_dir={value}"]),
                           "--set data_dir")


def test_save_plot_folder_that_cannot_be_written_is_refused_before_training(runner, tmp_path, monkeypatch):
    """A read-only file system (or root's os.access saying yes): found by writing a probe, before any run."""
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    folder = tmp_path / "plots"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only)
    line = _assert_refused(runner.invoke(app, ["demo", "xor", "--quick", "--save-plot", str(folder / "p.png")]),
                           "--save-plot")
    assert "cannot write in folder" in line and "Read-only file system" in line
    assert list(folder.iterdir()) == []
    result = runner.invoke(app, ["demo", "--history", "--json"])
    assert json.loads(result.stdout) == []


def test_save_plot_odd_paths_are_one_line(runner, tmp_path):
    (tmp_path / "afile").write_text("x")
    line = _assert_refused(runner.invoke(app, ["demo", "xor", "--quick", "--save-plot", str(tmp_path / "afile" / "p.png")]),
                           "--save-plot")
    assert "is a file, not a folder" in line
    long_folder = tmp_path / ("a" * 300) / "p.png"
    line = _assert_refused(runner.invoke(app, ["demo", "xor", "--quick", "--save-plot", str(long_folder)]), "--save-plot")
    assert "too long" in line and len(line) < 200


@pytest.mark.parametrize("value", ["99999", "abc", "0"])
def test_a_bad_thread_count_in_the_environment_is_one_line_before_the_run(runner, monkeypatch, value):
    monkeypatch.setenv("DNN_TUTOR_THREADS", value)
    result = runner.invoke(app, ["demo", "xor", "--quick", "--device", "cpu"])
    assert result.exit_code == 2, result.output
    assert "DNN_TUTOR_THREADS must be a whole number from 1 to 1024" in result.stderr
    assert "epoch" not in result.stdout


def test_options_that_do_nothing_here_are_refused(runner):
    """`demo xor --limit 0` ran the demo and ignored --limit; `quiz --seed -1` was taken; a usage error
    under `grade` pointed at `grade run --help`, a command the learner never typed."""
    limited = runner.invoke(app, ["demo", "xor", "--limit", "0"])
    assert limited.exit_code == 2 and "--limit only applies with --history" in limited.stderr
    for seed in ("-1", str(2**70)):
        quizzed = runner.invoke(app, ["quiz", "--seed", seed])
        assert quizzed.exit_code == 2 and "--seed" in quizzed.stderr
    graded = runner.invoke(app, ["grade", ".", "--bogus"])
    assert graded.exit_code == 2 and "`dnn-tutor grade --help`" in graded.stderr


@pytest.mark.parametrize("args", [["playground", "--quick", "--noise", "-0"], ["demo", "xor", "--quick", "--set", "noise=-0.0"]])
def test_minus_zero_is_zero(runner, args):
    """-0.0 passed the range check (it is not below 0) and numpy then refused it as a negative scale."""
    result = runner.invoke(app, [*args, "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output


def test_a_setting_given_twice_is_refused(runner):
    """`--epochs 1 --set epochs=garbage` ran one epoch and dropped the --set without a word."""
    result = runner.invoke(app, ["demo", "xor", "--quick", "--device", "cpu", "--epochs", "1", "--set", "epochs=garbage"])
    assert result.exit_code == 2 and "both set epochs" in result.stderr


@pytest.mark.slow
def test_a_data_folder_may_have_any_name_and_a_file_is_not_one(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Téléchargements").mkdir()
    (tmp_path / "afile").write_text("x")
    accepted = runner.invoke(app, ["demo", "mnist-mlp", "--quick", "--data-dir", "Téléchargements"])
    assert accepted.exit_code != 0 and "no MNIST IDX files in" in accepted.stderr and "Téléchargements" in accepted.stderr
    assert "expected a word" not in accepted.stderr
    a_file = runner.invoke(app, ["demo", "cnn", "--quick", "--data-dir", "afile"])
    assert a_file.exit_code == 2 and "--data-dir: is not a folder: afile" in a_file.stderr
    missing = runner.invoke(app, ["demo", "cnn", "--quick", "--set", "data_dir=nowhere"])
    assert missing.exit_code == 2 and "no such folder: nowhere" in missing.stderr


def test_a_plot_name_that_is_not_utf8_is_a_file_name_like_any_other(tmp_path):
    import os

    from tutor.training.flow import check_plot_path

    name = os.fsdecode(b"n\xff.png")  # a Latin-1 name on a UTF-8 system
    assert check_plot_path(str(tmp_path / name), False) == tmp_path / name


def test_a_bad_cuda_graphs_setting_is_one_line_before_anything_runs(runner, monkeypatch):
    monkeypatch.setenv("DNN_TUTOR_CUDA_GRAPHS", "garbage")
    result = runner.invoke(app, ["demo", "xor", "--quick"])
    assert result.exit_code == 2 and result.stderr.strip().endswith("give 1 (on, the default) or 0 (off)")
    assert len(result.stderr.strip().splitlines()) == 1
