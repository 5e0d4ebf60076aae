"""Bad input to the core commands (home, lessons, lesson, progress, doctor): one line on stderr,
the documented exit code (2 for a bad argument, 1 for an operating-system refusal), never a
traceback and never a change to the learner's progress."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tutor.cli import app
from tutor.store import Store

LONG = "n" * 300
MARKUP = "[/red]"


def _files(tmp: Path) -> dict[str, str]:
    """Files and folders the table refers to by name."""
    folder = tmp / "folder"
    folder.mkdir(exist_ok=True)
    a_file = tmp / "a-file"
    a_file.write_text("not a folder")
    fifo = tmp / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    texts = {
        "empty.json": "",
        "list.json": "[1, 2, 3]",
        "nan.json": '{"format": "dnn-tutor-progress", "version": 1, "demo_runs": NaN}',
        "notjson.json": "{not json",
        "foreign.json": '{"hello": 1}',
        "future.json": json.dumps({"format": "dnn-tutor-progress", "version": 9}),
        "badversion.json": json.dumps({"format": "dnn-tutor-progress", "version": "two"}),
        "negative.json": json.dumps({"format": "dnn-tutor-progress", "version": 2, "exercise_attempts": [
            {"exercise_id": "backprop", "file_hash": "h", "passed": -3, "total": 15, "at": "2026-01-01T00:00:00"}]}),
        "impossible.json": json.dumps({"format": "dnn-tutor-progress", "version": 2, "sections_read": [
            {"lesson_id": "basics", "section": 40, "read_at": "2026-01-01T00:00:00"}]}),
        "futuretime.json": json.dumps({"format": "dnn-tutor-progress", "version": 2, "lessons_completed": [
            {"lesson_id": "basics", "completed_at": "2999-01-01T00:00:00+00:00"}]}),
        "markup-id.json": json.dumps({"format": "dnn-tutor-progress", "version": 2, "lessons_completed": [
            {"lesson_id": MARKUP, "completed_at": "2026-01-01T00:00:00+00:00"}]}),
        "wrongtype.json": json.dumps({"format": "dnn-tutor-progress", "version": 2, "demo_runs": [
            {"demo_id": "xor", "config": [], "metrics": {"test_acc": "high"}, "device": "cpu", "seconds": "1",
             "at": "2026-01-01T00:00:00"}]}),
        "huge.json": '{"format": "dnn-tutor-progress", "version": 2, "sections_read": [{"lesson_id": "basics", '
                     '"section": 1' + "0" * 400 + ', "read_at": "2026-01-01T00:00:00"}]}',
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "latin1.json": None,
    }
    for name, text in texts.items():
        path = tmp / name
        if text is None:
            path.write_bytes(b'{"format": "dnn-tutor-progress", "x": "\xe9"}')
        else:
            path.write_text(text)
    big = tmp / "big.json"
    with open(big, "wb") as handle:  # sparse: no disk used, but over the size cap
        handle.truncate(65 * 1024 * 1024)
    return {"folder": str(folder), "file": str(a_file), "fifo": str(fifo), "tmp": str(tmp)}


# (arguments, exit code, words the one line must hold); {name} is filled from _files
CASES = [
    # home and lessons
    (["nonsense"], 2, "No such command"),
    (["--colour"], 2, "No such option"),
    (["lessons", "extra"], 2, "unexpected extra argument"),
    (["lessons", "--json=yes"], 2, "--json"),
    # lesson: wrong type, negative, zero, NaN, inf, huge, empty, unicode, markup, long
    (["lesson"], 2, "Missing argument"),
    (["lesson", "0"], 2, "no lesson '0'"),
    (["lesson", "-1"], 2, "-1"),
    (["lesson", "nan"], 2, "no lesson 'nan'"),
    (["lesson", "inf"], 2, "no lesson 'inf'"),
    (["lesson", "1e308"], 2, "no lesson"),
    (["lesson", "99999999999999999999999999"], 2, "no lesson"),
    (["lesson", ""], 2, "no lesson"),
    (["lesson", "ünïcødé✓"], 2, "no lesson"),
    (["lesson", MARKUP], 2, f"no lesson '{MARKUP}'"),
    (["lesson", "[bold]x"], 2, "[bold]x"),
    (["lesson", LONG], 2, "no lesson"),
    (["lesson", "1", "--section", "0"], 2, "no section 0"),
    (["lesson", "1", "--section", "-5"], 2, "section"),
    (["lesson", "1", "--section", "nan"], 2, "no section 'nan'"),
    (["lesson", "1", "--section", "inf"], 2, "section"),
    (["lesson", "1", "--section", "1" * 40], 2, "no section"),
    (["lesson", "1", "--section", ""], 2, "section"),
    (["lesson", "1", "--section", MARKUP], 2, MARKUP),
    (["lesson", "1", "--section", LONG], 2, "section"),
    (["lesson", "1", "--section"], 2, "requires an argument"),
    # progress --export: folders, missing or unwritable places, long names
    (["progress", "--export", "{folder}"], 2, "is a folder"),
    (["progress", "--export", "{file}"], 2, "--force"),
    (["progress", "--export", "{fifo}", "--force"], 2, "not a regular file"),
    (["progress", "--export", "{file}/x.json"], 2, "is a file, not a folder"),
    (["progress", "--export", "{tmp}/" + LONG + ".json"], 2, "too long"),
    (["progress", "--export", "/proc/dnn-tutor-test/x.json"], 2, "/proc/dnn-tutor-test does not exist"),  # never created
    (["progress", "--export", "{tmp}/a.json", "--import", "{tmp}/b.json"], 2, "not both"),
    (["progress", "--export"], 2, "requires an argument"),
    # progress --import: missing, unreadable kinds of file, malformed content
    (["progress", "--import", "{tmp}/missing.json"], 2, "no such file"),
    (["progress", "--import", "{folder}"], 2, "is a folder"),
    (["progress", "--import", "{fifo}"], 2, "not a regular file"),
    (["progress", "--import", "/dev/zero"], 2, "not a regular file"),
    (["progress", "--import", "{tmp}/big.json"], 2, "the limit is"),
    (["progress", "--import", "{tmp}/empty.json"], 2, "cannot read"),
    (["progress", "--import", "{tmp}/notjson.json"], 2, "cannot read"),
    (["progress", "--import", "{tmp}/nan.json"], 2, "NaN"),
    (["progress", "--import", "{tmp}/deep.json"], 2, "cannot read"),
    (["progress", "--import", "{tmp}/latin1.json"], 2, "not UTF-8"),
    (["progress", "--import", "{tmp}/list.json"], 2, "not a dnn-tutor progress export"),
    (["progress", "--import", "{tmp}/foreign.json"], 2, "not a dnn-tutor progress export"),
    (["progress", "--import", "{tmp}/future.json"], 2, "newer than this dnn-tutor"),
    (["progress", "--import", "{tmp}/badversion.json"], 2, "invalid \"version\""),
    (["progress", "--import", "{tmp}/negative.json"], 2, "outside"),
    (["progress", "--import", "{tmp}/impossible.json"], 2, "has 3 sections, not 40"),
    (["progress", "--import", "{tmp}/futuretime.json"], 2, "in the future"),
    (["progress", "--import", "{tmp}/markup-id.json"], 2, MARKUP),
    (["progress", "--import", "{tmp}/wrongtype.json"], 2, "malformed"),
    (["progress", "--import", "{tmp}/huge.json"], 2, "outside"),
    (["progress", "--import", "{tmp}/" + LONG + ".json"], 2, "too long"),
    (["progress", "--json", "extra"], 2, "unexpected extra argument"),
]


@pytest.mark.parametrize("args, code, words", CASES, ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else None)
def test_bad_input_is_one_line_and_an_exit_code(runner, fixture_course, tmp_path, args, code, words):
    names = _files(tmp_path)
    args = [a.format(**names) for a in args]
    words = words.format(**names)
    with Store() as store:
        store.mark_section_read("basics", 1, 3)
    result = runner.invoke(app, args)
    assert result.exit_code == code, (args, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, (args, result.stderr)
    assert lines[0].startswith("error: ")
    assert words in lines[0], (args, lines[0])
    with Store() as store:  # nothing the learner had is lost
        assert store.sections_read() == {"basics": {1}}


@pytest.mark.parametrize("env, code, words", [
    ("{file}", 2, "which is a file, not a folder"),
    ("{file}/sub", 2, "a part of that path is a file"),
    ("{tmp}/" + LONG, 2, "too long"),
])
def test_a_bad_learner_folder_is_one_line(runner, fixture_course, tmp_path, monkeypatch, env, code, words):
    names = _files(tmp_path)
    monkeypatch.setenv("DNN_TUTOR_HOME", env.format(**names))
    for args in ([], ["lessons"], ["progress"]):
        result = runner.invoke(app, args)
        assert result.exit_code == code, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, result.stderr)
        assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize("args, code, words", [
    (["doctor", "--device", "nonsense"], 2, "unknown device"),
    (["doctor", "--device", ""], 2, "unknown device ''"),  # as demo, bench and playground say it
    (["doctor", "--device", MARKUP], 2, MARKUP),
    (["doctor", "--device", LONG], 2, "unknown device"),
])
def test_doctor_bad_device_is_one_line(runner, args, code, words):
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]


HOSTILE_PATH = "/nonexist/a\nb\x1b[31mRED"


@pytest.mark.parametrize("args", [
    ["progress", "--import", HOSTILE_PATH], ["grade", "report", HOSTILE_PATH], ["grade", "merge", HOSTILE_PATH, "--out", "m.csv"],
    ["lesson", "x" * 10_000], ["check", HOSTILE_PATH],
], ids=["import", "report", "merge", "a 10,000-character id", "check"])
def test_a_hostile_argument_is_echoed_as_one_short_printable_line(runner, fixture_course, args):
    """A newline or an escape sequence in a file name split the error over lines and coloured the terminal;
    a 10,000-character argument was echoed whole."""
    result = runner.invoke(app, args)
    assert result.exit_code in (1, 2), result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "\x1b" not in result.stderr and len(lines[0]) < 400


@pytest.mark.parametrize("columns", ["0", "00", "5"])
def test_a_columns_too_small_to_lay_out_is_ignored_and_errors_still_show(runner, fixture_course, columns):
    """COLUMNS=0 printed nothing at all, errors included, while progress was still saved."""
    failed = runner.invoke(app, ["lesson", "99"], env={"COLUMNS": columns})
    assert failed.exit_code == 2 and failed.stderr.startswith("error: no lesson '99'")
    listed = runner.invoke(app, ["lessons"], env={"COLUMNS": columns})
    assert listed.exit_code == 0 and "Fixture basics" in listed.stdout


def test_markup_in_a_path_is_printed_as_written(runner, fixture_course, tmp_path):
    target = tmp_path / f"{MARKUP}[bold]progress.json"
    target.parent.mkdir(parents=True, exist_ok=True)  # the markup's "/" makes a folder: --export creates none
    result = runner.invoke(app, ["progress", "--export", str(target)])
    assert result.exit_code == 0, result.output
    assert str(target) in " ".join(result.stdout.split()).replace(" ", "") or f"{MARKUP}[bold]" in result.stdout
    again = runner.invoke(app, ["progress", "--export", str(target), "--force"])
    assert again.exit_code == 0 and f"{MARKUP}[bold]progress.json.bak-" in again.stderr
    imported = runner.invoke(app, ["progress", "--import", str(target)])
    assert imported.exit_code == 0 and MARKUP in imported.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a read-only file system")
def test_export_onto_a_read_only_file_system_is_one_line(runner, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(folder)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount")
    try:
        result = runner.invoke(app, ["progress", "--export", str(folder / "p.json")])
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "read-only" in lines[0] and str(folder) in lines[0]


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_any_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40) | \
    st.sampled_from(["[/red]", "[bold]", "-1", "--", "1e999", "nan", "-inf", "0x10", "١", "Ⅻ", " 1 ", "1" * 30])


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=_any_text, section=st.none() | _any_text)
def test_any_lesson_and_section_text_is_read_or_refused_in_one_line(runner, fixture_course, key, section):
    args = ["lesson", key] + ([] if section is None else ["--section", section])
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 2), (args, result.output)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)


# Characters that str.isdigit() accepts but int() refuses (superscripts, circled numbers):
# every number a learner types goes through str.isdecimal() instead.
@pytest.mark.parametrize("args", [
    ["lesson", "¹"],
    ["lesson", "1", "--section", "²"],
    ["quiz", "--lesson", "¹", "--count", "1"],
    ["quiz", "--lesson", "①", "--count", "1"],
    ["progress", "--force"],
    ["quiz", "--count", "1_0"],
    ["quiz", "--count", "+2"],
    ["quiz", "--count", "³"],
    ["grade", ".", "--exercise", "backprop", "--shard", "¹/2"],
    ["doctor", "--device", "cuda:¹"],
])
def test_digits_that_are_not_decimal_are_refused_in_one_line(runner, fixture_course, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args, input="")
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)


def test_gradebook_order_copes_with_superscripts_in_student_ids():
    from tutor.classroom.gradebook import _natural as natural_key

    assert sorted(["s²", "s10", "s2", "s¹"], key=natural_key)[:2] == ["s2", "s10"]


@pytest.mark.parametrize("args", [
    ["demo", "cnn", "--quick", "--data-dir", "~nosuchuser-dnn/mnist"],
    ["demo", "cnn", "--quick", "--set", "data_dir=~nosuchuser-dnn/mnist"],
    ["demo", "xor", "--quick", "--save-plot", "~nosuchuser-dnn/xor.png"],
    ["progress", "--import", "~nosuchuser-dnn/progress.json"],
    ["progress", "--export", "~nosuchuser-dnn/progress.json"],
])
def test_a_home_that_does_not_exist_is_one_error_not_a_crash(runner, tmp_path, monkeypatch, args):
    """Path.expanduser raises RuntimeError for ~user with no such user: every typed path goes through one expander."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert "no home folder for ~nosuchuser-dnn" in result.stderr
    assert list(work.iterdir()) == []  # no folder literally named "~nosuchuser-dnn"
    assert "internal error" not in result.output and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)


def test_no_command_writes_over_a_device_pipe_dangling_link_or_the_progress_database(runner, tmp_path, tutor_home):
    """As root, `grade merge --out /dev/null --force` replaced /dev/null with a regular file; a dangling
    link would have created its target elsewhere; `--export` made missing folders. Every output refuses
    them in one line, before anything is computed or written."""
    from tutor import paths

    book = tmp_path / "book.csv"
    book.write_text("student,exercise,passed,total,score,status,codes,seconds,sha256,seed\n"
                    "ann,backprop,15,15,1,done,,0.5," + "0" * 64 + ",7\n")
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    dangling = tmp_path / "dangling.png"
    os.symlink(tmp_path / "elsewhere" / "made.png", dangling)
    database = paths.progress_db_path()
    runner.invoke(app, ["progress"])  # creates the database
    real = tmp_path / "real.json"
    real.write_text("mine\n")
    linked = tmp_path / "linked.json"
    os.symlink(real, linked)
    cases = [
        (["progress", "--export", str(linked), "--force"], "is a link"),
        (["grade", "merge", str(book), "--out", str(linked), "--force"], "is a link"),
        (["grade", "merge", str(book), "--out", str(fifo), "--force"], "not a regular file"),
        (["grade", "merge", str(book), "--out", str(dangling), "--force"], "link to a file that does not exist"),
        (["grade", "merge", str(book), "--out", str(database), "--force"], "progress database"),
        (["grade", "report", str(book), "--save-plot", str(fifo), "--force"], "not a regular file"),
        (["grade", "report", str(book), "--save-plot", str(dangling)], "link to a file that does not exist"),
        (["progress", "--export", str(dangling)], "link to a file that does not exist"),
        (["progress", "--export", str(tmp_path / "new" / "x.json")], "does not exist"),
        (["demo", "xor", "--quick", "--device", "cpu", "--save-plot", str(dangling)], "link to a file that does not exist"),
        (["demo", "xor", "--quick", "--device", "cpu", "--save-plot", str(fifo), "--force"], "not a regular file"),
    ]
    for args, words in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
    assert fifo.is_fifo() and dangling.is_symlink() and not (tmp_path / "elsewhere").exists()
    assert linked.is_symlink() and real.read_text() == "mine\n"
    assert not (tmp_path / "new").exists()


def test_export_to_stdout_and_as_json(runner, tutor_home, tmp_path):
    runner.invoke(app, ["progress"])
    summary = runner.invoke(app, ["progress", "--export", str(tmp_path / "e.json"), "--json"])
    assert summary.exit_code == 0 and json.loads(summary.stdout)["file"] == str(tmp_path / "e.json")
    dumped = runner.invoke(app, ["progress", "--export", "-"])
    assert dumped.exit_code == 0 and json.loads(dumped.stdout)["format"] == "dnn-tutor-progress"
    assert not os.path.exists("-")
    dashed = tmp_path / "-"
    named = runner.invoke(app, ["progress", "--export", str(tmp_path) + "/./-"])  # a file named "-", spelled out
    assert named.exit_code == 0 and dashed.is_file() and named.stdout.startswith("exported")
    empty = runner.invoke(app, ["progress", "--export", ""])
    assert empty.exit_code == 2 and "needs a file name" in empty.stderr


def test_init_expands_the_home_folder_and_never_makes_a_folder_named_tilde(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    monkeypatch.chdir(tmp_path)
    made = runner.invoke(app, ["init", "~/course"])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "me" / "course" / "exercises" / "backprop.py").is_file()
    nobody = runner.invoke(app, ["init", "~nosuchuser/x"])
    assert nobody.exit_code == 2 and "no home folder" in nobody.stderr
    assert not list(tmp_path.glob("~*"))


def test_blank_or_looping_folders_in_the_environment_are_one_line(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blank = runner.invoke(app, ["data"], env={"DNN_TUTOR_CACHE": " "})
    assert blank.exit_code == 2 and "DNN_TUTOR_CACHE is ' '" in blank.stderr
    assert not (tmp_path / " ").exists()
    (tmp_path / "loop").symlink_to("loop")
    looping = runner.invoke(app, ["lessons"], env={"DNN_TUTOR_HOME": str(tmp_path / "loop")})
    assert looping.exit_code == 2 and "leads nowhere" in looping.stderr


def test_options_that_would_be_ignored_are_refused(runner):
    history = runner.invoke(app, ["demo", "xor", "--history", "--lr", "nan", "--device", "bogus", "--quick"])
    assert history.exit_code == 2 and "drop --device, --lr, --quick" in history.stderr
    assert runner.invoke(app, ["demo", "xor", "--history"]).exit_code == 0
    alone = runner.invoke(app, ["check", "exercises/backprop.py", "--max-runs", "2"])
    assert alone.exit_code == 2 and "--max-runs only applies with --watch" in alone.stderr
    zero = runner.invoke(app, ["check", "exercises/backprop.py", "--watch", "--max-runs", "0"])
    assert zero.exit_code == 2 and "--max-runs" in zero.stderr


def test_help_and_version_to_a_full_disk_are_one_plain_line():
    import sys

    for args in (["--version"], ["--help"]):
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, "-m", "tutor", *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
        assert done.returncode == 1 and done.stderr.strip() == "error: operating system error: no space left on the device"


def test_doctor_refuses_an_unknown_device_before_loading_torch(runner, monkeypatch):
    from tutor import doctor

    monkeypatch.setattr(doctor, "gather", lambda *a, **k: pytest.fail("gathered before the device name was checked"))
    result = runner.invoke(app, ["doctor", "--device", "bogus"])
    assert result.exit_code == 2 and "unknown device 'bogus'" in result.stderr
    assert result.stderr.count("\n") == 1


def test_reset_will_not_put_python_into_a_file_that_is_not_python(runner, tmp_path):
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}')
    result = runner.invoke(app, ["reset", "backprop", "--file", str(notes), "--yes"])
    assert result.exit_code == 2 and "not a Python file" in result.stderr
    assert notes.read_text() == '{"mine": true}'


def test_hint_restart_on_a_home_that_cannot_be_written_still_shows_the_hint(runner, monkeypatch):
    from tutor.errors import StoreError
    from tutor.store import Store

    def read_only(*args, **kwargs):
        raise StoreError("could not save the hint position: the progress database is read-only; it was NOT saved")

    monkeypatch.setattr(Store, "set_hint_state", read_only)
    result = runner.invoke(app, ["hint", "backprop", "--restart"])
    assert result.exit_code == 0, result.output
    assert "hint 1/" in result.stdout and "warning:" in result.stderr and "error:" not in result.stderr


def test_numbers_of_thousands_of_digits_are_one_usage_line_never_an_internal_error(tmp_path):
    """Python refuses int() of more than 4300 digits: `lesson 9…9`, `COLUMNS=9…9` were "internal error"."""
    import subprocess
    import sys

    huge = "9" * 5000
    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path / "home"))
    for args, extra, code in ((["lesson", huge], {}, 2), (["quiz", "--lesson", huge], {}, 2),
                              (["lessons"], {"COLUMNS": huge}, 0), (["lessons"], {"LINES": huge}, 0)):
        done = subprocess.run([sys.executable, "-m", "tutor", *args], env={**env, **extra}, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == code, (args, extra, done.stderr)
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr
        if code:
            assert len(done.stderr.strip().splitlines()) == 1 and "digits" in done.stderr
        else:
            assert "Lessons" in done.stdout


def test_with_stderr_closed_errors_never_land_on_stdout(tmp_path):
    """`lesson 99 2>&-` printed its error on stdout (rich's fallback), and a warning went into the JSON
    of `progress --export -`."""
    import subprocess
    import sys

    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-m", "tutor", "lesson", "99"], env=env, capture_output=False,
                          stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2), timeout=60)
    assert done.returncode == 2 and done.stdout == b""


def test_an_option_without_its_value_points_at_its_own_commands_help():
    from typer.testing import CliRunner

    from tutor.cli import app

    for argv, where in ((["demo", "xor", "--seed"], "dnn-tutor demo --help"), (["check", "--seed"], "dnn-tutor check --help"),
                        (["grade", "--jobs"], "dnn-tutor grade --help"), (["grade", "merge", "--out"], "dnn-tutor grade merge --help"),
                        (["quiz", "--topic"], "dnn-tutor quiz --help"), (["--colour"], "dnn-tutor --help")):
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 2, argv
        assert result.stderr.strip().endswith(f"(see `{where}`)") and len(result.stderr.strip().splitlines()) == 1, result.stderr
