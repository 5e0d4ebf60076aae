"""Class grading without a grader: the gradebook format, shards, merge, the mistakes report and bad input.

These build gradebooks by hand (no learner code runs), so they are fast; the
end-to-end runs are in test_grade.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutor.classroom import gradebook, report, submissions
from tutor.classroom.gradebook import Row
from tutor.cli import app

SOLUTIONS = Path(__file__).resolve().parent / "solutions"

SHA = "a" * 64


def _row(student, codes=(), passed=15, status=None, exercise="backprop", seed=7, total=15):
    status = status or ("done" if passed == total else "partial")
    return Row(student, exercise, passed, total, status, list(codes), 0.5, SHA, seed)


def _class_rows() -> list[Row]:
    return [
        _row("alice"),
        _row("bob", ["bias-averaged", "backward-vs-forward"], 11),
        _row("carol", ["bias-averaged", "backward-vs-forward"], 11),
        _row("dave", ["bias-averaged", "backward-vs-forward"], 11),
        _row("erin", ["relu-kink"], 14),
        _row("frank", ["sigmoid-derivative", "backward-vs-forward"], 13),
        _row("gina", ["timeout", "not-run"], 0, "timeout"),
        _row("hank", ["syntax", "not-run"], 0, "syntax"),
        _row("ivan", ["not-started"], 0, "not started"),
        _row("judy", ["missing"], 0, "missing"),
    ]


# ---------------------------------------------------------------- the gradebook file


@pytest.mark.parametrize("name", ["book.csv", "book.jsonl"])
def test_gradebook_round_trip_keeps_every_field(tmp_path, name):
    rows = _class_rows()
    path = tmp_path / name
    gradebook.write(path, rows)
    text = path.read_text()
    if name.endswith(".csv"):
        assert text.splitlines()[0] == ",".join(gradebook.COLUMNS)
        assert "bias-averaged;backward-vs-forward" in text
    else:
        first = json.loads(text.splitlines()[0])
        assert list(first) == list(gradebook.COLUMNS) and isinstance(first["codes"], list)
    back = gradebook.read(path)
    assert [r.to_dict() for r in back] == [r.to_dict() for r in gradebook.sort_rows(rows)]
    bob = next(r for r in back if r.student == "bob")
    assert bob.score == pytest.approx(11 / 15, abs=1e-4) and bob.codes == ["bias-averaged", "backward-vs-forward"]


def test_a_failed_write_keeps_the_previous_gradebook(tmp_path, monkeypatch):
    tmp_path = tmp_path / "books"
    tmp_path.mkdir()
    path = tmp_path / "book.csv"
    gradebook.write(path, _class_rows()[:2])
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tutor.fsutil.os.fsync", full_disk)
    with pytest.raises(gradebook.TutorError, match="No space left.*previous version is kept") as caught:
        gradebook.write(path, _class_rows())
    assert caught.value.exit_code == 1  # the command ran but could not save: not a usage error
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["book.csv"]  # no temporary file left behind


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\x00\x01\x02garbage", "binary file"),
        (b"\xff\xfe\xfa not utf8", "not UTF-8"),
        (b"name,grade\nalice,3\n", "not a gradebook: its header"),
        (b"student,exercise,passed,total,score,status,codes,seconds,sha256\n", "missing seed"),
        (b"student,exercise,passed,total,score,status,codes,seconds,sha256,seed,notes\n", "unknown 'notes'"),
        (b"student,exercise,passed,total,score,status,codes,seconds,sha256,seed\nx,backprop,16,15,1,done,,1,,1\n", "line 2: passed (16) is more than total"),
        (b"student,exercise,passed,total,score,status,codes,seconds,sha256,seed\nx,backprop,1,15,nan,done,,1,,1\n", "score must be a finite number"),
        (b"student,exercise,passed,total,score,status,codes,seconds,sha256,seed\nx,backprop,1,15,0.1,partial,,1,zz,1\n", "sha256 must be 64"),
        (b"student,exercise,passed,total,score,status,codes,seconds,sha256,seed\nx,backprop,1,15\n", "4 values for 10 columns"),
        (b'{"student": "x"}\n', "missing exercise"),
        (b"{not json\n", "not valid JSON"),
    ],
)
def test_report_refuses_what_is_not_a_gradebook_in_one_line(runner, tmp_path, content, message):
    path = tmp_path / "book.csv"
    path.write_bytes(content)
    result = runner.invoke(app, ["grade", "report", str(path)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_report_on_a_folder_or_a_missing_file(runner, tmp_path):
    for target, message in ((tmp_path, "is a folder"), (tmp_path / "nope.csv", "no such gradebook")):
        result = runner.invoke(app, ["grade", "report", str(target)])
        assert result.exit_code == 2 and message in result.stderr


def test_a_header_only_gradebook_has_no_report(runner, tmp_path):
    path = tmp_path / "book.csv"
    gradebook.write(path, [])
    result = runner.invoke(app, ["grade", "report", str(path)])
    assert result.exit_code == 2 and "has no rows yet" in result.stderr


# ---------------------------------------------------------------- shards


def test_shard_of_is_a_stable_hash_of_the_student_id():
    # Pinned: the same student lands in the same part on every machine, Python and run.
    assert [submissions.shard_of(s, 8) for s in ("alice", "bob", "carol", "dave")] == [
        submissions.shard_of(s, 8) for s in ("alice", "bob", "carol", "dave")
    ]
    import hashlib

    expected = int.from_bytes(hashlib.sha256(b"alice").digest()[:8], "big") % 8 + 1
    assert submissions.shard_of("alice", 8) == expected
    students = [f"s{i:03d}" for i in range(300)]
    parts = [[s for s in students if submissions.parse_shard(f"{k}/3").holds(s)] for k in (1, 2, 3)]
    assert sorted(sum(parts, [])) == students  # every student in exactly one part
    assert all(60 < len(p) < 140 for p in parts)  # and roughly balanced


@pytest.mark.parametrize("text", ["0/3", "4/3", "x", "3", "1/0", "-1/3", "1/3/4", "", " / "])
def test_bad_shards_are_one_line(runner, tmp_path, text):
    (tmp_path / "alice").mkdir()
    result = runner.invoke(app, ["grade", str(tmp_path), "--exercise", "backprop", "--shard", text, "--out", str(tmp_path / "g.csv")])
    assert result.exit_code == 2
    assert "--shard must be K/N" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "g.csv").exists()


def test_class_seed_is_the_same_for_every_shard_of_a_folder():
    a = submissions.class_seed("backprop", ["bob", "alice"])
    assert a == submissions.class_seed("backprop", ["alice", "bob"])
    assert a != submissions.class_seed("backprop", ["alice", "bob", "carol"])
    assert 0 <= a < 2**31


def test_the_default_class_seed_needs_the_graders_private_key(tmp_path, monkeypatch):
    """A student who knows the class list cannot work out the seed (and so the inputs) without the key."""
    import hashlib
    import os
    import stat

    mine = submissions.class_seed("backprop", ["alice", "bob"])
    key = (tmp_path / "home" / "class-key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and len(key.read_bytes().strip()) == 64
    assert mine == submissions.class_seed("backprop", ["bob", "alice"])  # kept: reruns and shards agree
    old = int.from_bytes(hashlib.sha256(b"backprop\nalice\nbob").digest()[:4], "big") % 2**31
    assert mine != old  # the list of students alone no longer gives it
    monkeypatch.setenv("DNN_TUTOR_HOME", str(tmp_path / "another-account"))
    assert submissions.class_seed("backprop", ["alice", "bob"]) != mine
    (tmp_path / "another-account" / "class-key").write_text("not a key\n")
    with pytest.raises(submissions.TutorError, match="class key .* is damaged: pass --seed"):
        submissions.class_seed("backprop", ["alice", "bob"])
    (tmp_path / "another-account" / "class-key").unlink()
    os.mkfifo(tmp_path / "another-account" / "class-key")  # never waited on: refused at once
    with pytest.raises(submissions.TutorError, match="class key .* is damaged: pass --seed"):
        submissions.class_seed("backprop", ["alice", "bob"])
    (tmp_path / "another-account" / "class-key").unlink()
    (tmp_path / "another-account" / "class-key").symlink_to(tmp_path / "nowhere")
    with pytest.raises(submissions.TutorError, match="is a link that leads nowhere"):
        submissions.class_seed("backprop", ["alice", "bob"])
    (tmp_path / "another-account" / "class-key").unlink()
    (tmp_path / "another-account" / "class-key").symlink_to(key)  # someone else's key, by a link: not used
    with pytest.raises(submissions.TutorError, match="is a link to another file"):
        submissions.class_seed("backprop", ["alice", "bob"])
    os.chmod(key, 0o644)  # made readable by others: made private again, and still the same key
    monkeypatch.setenv("DNN_TUTOR_HOME", str(tmp_path / "home"))
    assert submissions.class_seed("backprop", ["alice", "bob"]) == mine
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


# ---------------------------------------------------------------- bad input to grade


def test_grade_bad_folders_and_options_are_one_line(runner, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "zed.py").write_text("x = 1\n")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = [
        ([str(tmp_path / "nope"), "-e", "backprop"], "no such folder"),
        ([str(empty), "-e", "backprop"], "holds no submissions"),
        ([str(a_file), "-e", "backprop"], "is not a folder"),
        ([str(flat)], "say which exercise"),
        ([str(flat), "-e", "nope"], "unknown exercise 'nope'"),
        ([str(flat), "-e", "backprop", "--jobs", "0"], "--jobs: expected a whole number from 1 to 256, got '0'"),
        ([str(flat), "-e", "backprop", "--timeout", "nan"], "--timeout: expected a number of seconds from 0.5 to 3,600, got 'nan'"),
        ([str(flat), "-e", "backprop", "--seed", "-3"], "--seed: expected a whole number from 0 to"),
        ([str(flat), "-e", "backprop", "--seed", str(2**63)], "--seed: expected a whole number from 0 to 9,223,372,036,854,775,807"),
        ([str(flat), "-e", "backprop", "--out", str(tmp_path / "no" / "g.csv")], "does not exist"),
        ([str(flat), "-e", "backprop", "--out", str(tmp_path)], "is a folder"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["grade", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_grade_never_overwrites_a_file_that_is_not_a_gradebook(runner, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "zed.py").write_text("x = 1\n")
    other = tmp_path / "marks.csv"
    other.write_text("name,mark\nzed,A\n")
    result = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "--out", str(other)])
    assert result.exit_code == 2 and "not a gradebook" in result.stderr
    assert other.read_text() == "name,mark\nzed,A\n"


@pytest.mark.slow
def test_a_student_named_twice_gets_an_ambiguous_row_and_the_class_is_still_graded(runner, tmp_path):
    """zed/ and zed.py: which one zed meant is not ours to guess; the warning names both, the rest is graded."""
    klass = tmp_path / "class"
    (klass / "zed").mkdir(parents=True)
    (klass / "zed" / "backprop.py").write_text((SOLUTIONS / "backprop.py").read_text())
    (klass / "zed.py").write_text("x = 1\n")
    (klass / "amy.py").write_text("x = 1\n")
    book = tmp_path / "g.csv"
    result = runner.invoke(app, ["grade", str(klass), "-e", "backprop", "--out", str(book), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r.student: r.to_dict() for r in gradebook.read(book)}
    assert set(rows) == {"amy", "zed"}
    assert rows["zed"]["status"] == "ambiguous" and rows["zed"]["codes"] == ["ambiguous"] and rows["zed"]["passed"] == 0
    assert rows["amy"]["status"] not in ("ambiguous", "missing")
    warnings = [line for line in result.stderr.splitlines() if "zed" in line]
    assert len(warnings) == 1 and "zed/" in warnings[0] and "zed.py" in warnings[0]
    report = runner.invoke(app, ["grade", "report", str(book), "--json"])
    assert report.exit_code == 0, report.output
    (summary,) = json.loads(report.stdout)["exercises"]
    assert {"status": "ambiguous", "students": 1} in summary["statuses"]
    assert all(m["code"] != "ambiguous" for m in summary["mistakes"])  # how a run ended, not a misconception


def test_a_seed_other_than_the_gradebooks_is_refused(runner, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "zed.py").write_text("x = 1\n")
    book = tmp_path / "g.csv"
    gradebook.write(book, [_row("zed", seed=7)])
    result = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "--seed", "8", "--out", str(book)])
    assert result.exit_code == 2 and "graded with seed 7" in result.stderr


# ---------------------------------------------------------------- the group routes to the default action


def test_grade_help_shows_the_folder_options_and_the_subcommands(runner):
    result = runner.invoke(app, ["grade", "--help"])
    assert result.exit_code == 0
    for word in ("--exercise", "--jobs", "--shard", "--timeout", "--seed", "merge", "report"):
        assert word in result.output
    for sub in ("merge", "report"):
        result = runner.invoke(app, ["grade", sub, "--help"])
        assert result.exit_code == 0 and "--out" in result.output if sub == "merge" else "--save-plot" in result.output


def test_options_before_the_folder_still_reach_the_default_action(runner, tmp_path):
    result = runner.invoke(app, ["grade", "--exercise", "backprop", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such folder" in result.stderr


def test_a_class_folder_named_like_a_subcommand_is_still_graded(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "merge").mkdir()
    result = runner.invoke(app, ["grade", "merge", "--exercise", "backprop"])
    assert result.exit_code == 2 and "merge holds no submissions" in result.stderr


# ---------------------------------------------------------------- merge


def _parts(tmp_path, *groups, seed=7, exercise="backprop"):
    paths = []
    for i, students in enumerate(groups, start=1):
        path = tmp_path / f"part{i}.csv"
        gradebook.write(path, [_row(s, seed=seed, exercise=exercise) for s in students])
        paths.append(path)
    return paths


def test_merge_combines_parts_and_empty_shards(runner, tmp_path):
    paths = _parts(tmp_path, ["alice", "bob"], ["carol"], [])
    out = tmp_path / "book.csv"
    result = runner.invoke(app, ["grade", "merge", *map(str, paths), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 3
    assert [r.student for r in gradebook.read(out)] == ["alice", "bob", "carol"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: _parts(p, ["alice", "bob"], ["bob"]), "student 'bob' (backprop) is in both"),
        (lambda p: _parts(p, ["alice"]) + [_parts(p / "x", ["bob"], exercise="conv")[0]], "grades exercise conv but"),
        (lambda p: _parts(p, ["alice"]) + [_parts(p / "x", ["bob"], seed=8)[0]], "with seed 8 but"),
        (lambda p: _parts(p, ["alice"]) * 2, "is given twice"),
    ],
)
def test_merge_refuses_duplicates_and_mismatches_in_one_line(runner, tmp_path, make, message):
    (tmp_path / "x").mkdir()
    paths = make(tmp_path)
    out = tmp_path / "book.csv"
    result = runner.invoke(app, ["grade", "merge", *map(str, paths), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_merge_keeps_a_copy_before_replacing_with_force(runner, tmp_path):
    paths = _parts(tmp_path, ["alice"], ["bob"])
    out = tmp_path / "book.csv"
    out.write_text("precious\n")
    result = runner.invoke(app, ["grade", "merge", *map(str, paths), "--out", str(out)])
    assert result.exit_code == 2 and "--force" in result.stderr
    assert out.read_text() == "precious\n"
    result = runner.invoke(app, ["grade", "merge", *map(str, paths), "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    backups = [p for p in tmp_path.iterdir() if p.name.startswith("book.csv") and p != out]
    assert len(backups) == 1 and backups[0].read_text() == "precious\n"


# ---------------------------------------------------------------- the report


def test_report_ranks_by_the_first_mistake_and_teaches_it_again():
    (rep,) = report.build(_class_rows())
    codes = [m.code for m in rep.mistakes]
    assert codes[0] == "bias-averaged"  # three students' first mistake
    # backward-vs-forward shows in four runs but is nobody's first mistake: it comes after the real ones
    assert codes.index("backward-vs-forward") > codes.index("relu-kink")
    top = rep.mistakes[0]
    assert (top.first, top.students, top.student_ids) == (3, 3, ["bob", "carol", "dave"])
    assert top.meaning and "not know" not in top.meaning
    assert "sum" in top.hint  # the exercise's tailored hint
    assert top.concept == "bp-bias-grad-value"
    assert top.lesson == 2 and top.section is not None and top.teach == f"dnn-tutor lesson 2 --section {top.section}"
    assert "timeout" not in codes and "not-started" not in codes and "missing" not in codes
    assert dict(rep.statuses) == {"done": 1, "partial": 5, "not started": 1, "missing": 1, "timeout": 1, "syntax": 1}
    assert sum(n for _, n in rep.distribution) == 10 and dict(rep.distribution)["100%"] == 1
    assert rep.seed == 7


def test_report_json_and_table(runner, tmp_path):
    book = tmp_path / "book.csv"
    gradebook.write(book, _class_rows())
    result = runner.invoke(app, ["grade", "report", str(book), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (ex,) = data["exercises"]
    assert ex["mistakes"][0]["code"] == "bias-averaged" and ex["mistakes"][0]["first"] == 3
    assert ex["mistakes"][0]["teach"].startswith("dnn-tutor lesson 2")
    table = runner.invoke(app, ["grade", "report", str(book)])
    assert table.exit_code == 0
    assert table.output.index("bias-averaged") < table.output.index("relu-kink")
    assert "Score distribution" in table.output and "bp-bias-grad-value" in table.output


@pytest.mark.slow
def test_report_plot_is_a_png_and_is_not_overwritten_without_force(runner, tmp_path):
    book = tmp_path / "book.csv"
    gradebook.write(book, _class_rows())
    png = tmp_path / "mistakes.png"
    result = runner.invoke(app, ["grade", "report", str(book), "--save-plot", str(png)])
    assert result.exit_code == 0, result.output
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    png.write_bytes(b"mine")
    again = runner.invoke(app, ["grade", "report", str(book), "--save-plot", str(png)])
    assert again.exit_code == 2 and "--force" in again.stderr and png.read_bytes() == b"mine"
    forced = runner.invoke(app, ["grade", "report", str(book), "--save-plot", str(png), "--force"])
    assert forced.exit_code == 0 and png.read_bytes()[:4] == b"\x89PNG"
    wrong = runner.invoke(app, ["grade", "report", str(book), "--save-plot", str(tmp_path / "m.txt")])
    assert wrong.exit_code == 2 and "ending in .png" in wrong.stderr
    everyone = tmp_path / "everyone.csv"  # no mistake to rank: the left panel says so (it crashed)
    gradebook.write(everyone, [_row("alice"), _row("bob")])
    calm = runner.invoke(app, ["grade", "report", str(everyone), "--save-plot", str(tmp_path / "calm.png")])
    assert calm.exit_code == 0, calm.output
    assert (tmp_path / "calm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_student_names_cannot_draw_on_the_terminal(tmp_path):
    from rich.console import Console

    from tutor.classroom.service import ClassRun
    from tutor.render.classroom import render_class_run, visible

    assert visible("eve\x1b[2J\x1b[H15/15") == "eve\\x1b[2J\\x1b[H15/15"
    run = ClassRun(tmp_path / "g.csv", ["backprop"], {"backprop": 7}, None, 1, rows=[_row("eve\x1b[31m", ["relu-kink"], 14)])
    console = Console(record=True, width=100, force_terminal=True)
    console.print(render_class_run(run))
    text = console.export_text(styles=False)
    assert "eve\\x1b[31m" in text and "eve\x1b[31m" not in text


def test_a_run_with_timeouts_says_to_try_a_longer_timeout(tmp_path):
    import dataclasses

    from rich.console import Console

    from tutor.classroom.service import ClassRun
    from tutor.render.classroom import render_class_run

    slow = dataclasses.replace(_row("gina", passed=12, status="timeout"), timeout=5.0)
    run = ClassRun(tmp_path / "g.csv", ["backprop"], {"backprop": 7}, None, 2, rows=[_row("alice"), slow])
    console = Console(record=True, width=200)
    console.print(render_class_run(run))
    said = " ".join(console.export_text(styles=False).split())
    assert "1 submission(s) ran out of time under --timeout 5: if the machine was busy" in said
    assert "--timeout 10" in said
    console = Console(record=True, width=200)
    console.print(render_class_run(ClassRun(tmp_path / "g.csv", ["backprop"], {"backprop": 7}, None, 1, rows=[_row("alice")])))
    assert "ran out of time" not in console.export_text(styles=False)


def test_a_grader_that_cannot_start_stops_the_run_in_one_line(monkeypatch, tmp_path):
    import shutil
    import sys

    from tutor.classroom import pool
    from tutor.errors import TutorError

    false = shutil.which("false")
    if false is None:
        pytest.skip("no `false` program")
    tasks = [pool.Task(f"s{i}", "backprop", str(tmp_path / "x.py"), 1, 5.0) for i in range(5)]
    monkeypatch.setattr(sys, "executable", false)
    saved: list[Row] = []
    with pytest.raises(TutorError, match="cannot start") as caught:
        pool.run(tasks, 1, saved.append, fork=False)
    assert caught.value.exit_code == 1
    assert [(r.student, r.status) for r in saved] == [("s0", "error"), ("s1", "error")]


# ---------------------------------------------------------------- odd student ids, spreadsheets, empty files


def test_student_ids_from_odd_folder_names_are_printable_utf8(tmp_path):
    import os

    tmp_path = tmp_path / "class"
    tmp_path.mkdir()
    names = [b"bad\xffname", b"new\nline", b"esc\x1b[31mred", "\u00e9mile".encode(), b"dave smith"]
    for name in names:
        os.mkdir(os.path.join(os.fsencode(str(tmp_path)), name))
    found = submissions.discover(tmp_path, {"backprop": "backprop.py"}, "backprop")
    ids = sorted(s.student for s in found)
    assert ids == sorted(["bad\\xffname", "new\\nline", "esc\\x1b[31mred", "\u00e9mile", "dave smith"])
    assert all(s.problem == "missing" for s in found)
    # every id can be written to and read back from both gradebook formats
    rows = [_row(student, ["missing"], 0, "missing") for student in ids]
    for name in ("g.csv", "g.jsonl"):
        gradebook.write(tmp_path / name, rows)
        assert sorted(r.student for r in gradebook.read(tmp_path / name)) == ids


def test_a_folder_name_and_its_escaped_twin_are_one_student_twice(tmp_path):
    import os

    tmp_path = tmp_path / "class"
    tmp_path.mkdir()
    os.mkdir(os.path.join(os.fsencode(str(tmp_path)), b"a\nb"))
    (tmp_path / "a\\nb").mkdir()
    found = submissions.discover(tmp_path, {"backprop": "backprop.py"}, "backprop")
    assert [(s.student, s.problem, s.others) for s in found] == [("a\\nb", "ambiguous", ("'a\\nb/'", "'a\\\\nb/'"))]


def test_a_link_is_unreadable_and_never_followed_in_either_layout(tmp_path):
    """bob/backprop.py -> ../alice/backprop.py would give bob alice's grade, and so did `ln -s zed.py zedcopy.py`
    in a flat class (`ln -s /etc/passwd linky.py` was read and run): in both layouts a link (the file, the
    student's folder, or the exercises/ folder the file is in) is unreadable, wherever it points."""
    import os

    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "carol").mkdir(parents=True)
    (elsewhere / "carol" / "backprop.py").write_text("x = 1\n")
    cls = tmp_path / "class"
    for student in ("alice", "bob", "dave", "erin"):
        (cls / student).mkdir(parents=True)
    (cls / "alice" / "backprop.py").write_text("x = 1\n")
    os.symlink("../alice/backprop.py", cls / "bob" / "backprop.py")
    (cls / "dave" / "mine.py").write_text("x = 1\n")
    os.symlink("mine.py", cls / "dave" / "backprop.py")
    os.symlink(elsewhere / "carol", cls / "carol")
    os.symlink(elsewhere / "carol", cls / "erin" / "exercises")
    found = {s.student: (s.problem, s.note) for s in submissions.discover(cls, {"backprop": "backprop.py"}, "backprop")}
    link = ("unreadable", "a link, not followed")
    assert found == {"alice": ("", ""), "bob": link, "carol": link, "dave": link, "erin": link}
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "zed.py").write_text("x = 1\n")
    os.symlink("zed.py", flat / "zedcopy.py")
    os.symlink(elsewhere / "carol" / "backprop.py", flat / "linky.py")
    found = {s.student: s for s in submissions.discover(flat, {"backprop": "backprop.py"}, "backprop")}
    assert {k: (s.problem, s.note) for k, s in found.items()} == {"zed": ("", ""), "zedcopy": link, "linky": link}
    assert found["linky"].warning == (
        "linky: linky.py is a link, not followed: not graded (unreadable); replace the link with a copy of the file "
        "if it is the student's own work"
    )


def test_csv_cells_never_start_a_spreadsheet_formula(tmp_path):
    import csv

    students = ["=SUM(A1)", "+ivan", "-minus", "@at", "'quoted", "\tTab", "=HYPERLINK(\"http://x\",\"y\")", "plain"]
    rows = [_row(s) for s in students] + [_row("eve", ["=cmd|' /C calc'!A0"], 14)]
    path = tmp_path / "g.csv"
    gradebook.write(path, rows)
    with open(path, newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    for record in table:
        for column in gradebook.TEXT_COLUMNS:
            assert not record[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, record[column])
    assert {r["student"] for r in table} >= {"'=SUM(A1)", "'+ivan", "''quoted", "plain"}
    back = gradebook.read(path)
    assert sorted(r.student for r in back) == sorted(students + ["eve"])
    assert next(r for r in back if r.student == "eve").codes == ["=cmd|' /C calc'!A0"]
    # the JSON Lines gradebook is data for programs: its values are kept as they are
    gradebook.write(tmp_path / "g.jsonl", rows)
    assert '"student": "=SUM(A1)"' in (tmp_path / "g.jsonl").read_text()


def test_an_empty_file_is_not_started_but_a_wrong_one_is_partial():
    from types import SimpleNamespace

    from tutor.classroom.adapter import status_of

    def report(passed, codes, ok=False):
        return SimpleNamespace(fatal=None, not_started=False, ok=ok, passed=passed, codes=codes)

    assert status_of(report(0, ["missing"])) == "not started"  # an empty file: nothing of the exercise is there
    assert status_of(report(0, ["missing", "not-started"])) == "not started"
    assert status_of(report(0, ["missing", "bias-averaged"])) == "failed"  # no check passed: not partial
    assert status_of(report(9, ["missing"])) == "partial"
    assert status_of(report(15, [], ok=True)) == "done"


def test_every_way_the_grader_stops_a_run_is_its_own_status_not_a_grader_error():
    """A submission that forks too many processes (or times out, floods, ...) is the student's doing:
    the gradebook names it, and "error" is kept for the grader failing."""
    import re
    from pathlib import Path
    from types import SimpleNamespace

    from tutor.classroom.adapter import status_of

    grading = Path(__file__).resolve().parents[1] / "tutor" / "grading"
    kinds = {kind for f in grading.glob("*.py") for kind in re.findall(r'Fatal\("([a-z]+)"', f.read_text())}
    assert "processes" in kinds and "timeout" in kinds
    for kind in kinds:
        report = SimpleNamespace(fatal=SimpleNamespace(kind=kind), not_started=False, ok=False, passed=0, codes=[])
        assert status_of(report) == kind
    assert status_of(SimpleNamespace(fatal=SimpleNamespace(kind="something new"), not_started=False, ok=False,
                                     passed=0, codes=[])) == "error"


def test_nothing_to_grade_starts_no_worker(monkeypatch):
    from tutor.classroom import pool

    def refuse(*args, **kwargs):
        raise AssertionError("a worker was started with nothing to grade")

    monkeypatch.setattr(pool, "ForkWorker", refuse)
    monkeypatch.setattr(pool, "Worker", refuse)
    saved: list[Row] = []
    pool.run([], 2, saved.append)
    assert saved == []


def test_the_run_summary_fits_80_columns():
    from pathlib import Path

    from rich.console import Console

    from tutor.classroom.service import ClassRun
    from tutor.render.classroom import render_class_run

    run = ClassRun(Path("gradebook.csv"), ["backprop"], {"backprop": 1279229571}, None, 1, graded=12, rows=[_row("alice")], seconds=26.3)
    console = Console(record=True, width=80, force_terminal=False)
    console.print(render_class_run(run))
    lines = console.export_text(styles=False).splitlines()
    assert any(line.startswith("1 of 1 pass every check") and line.rstrip().endswith("26.3 s") for line in lines)
    assert any("gradebook:" in line and "seed 1279229571 (backprop)" in line for line in lines)
    assert any(line.startswith("next: dnn-tutor grade report") for line in lines)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_the_report_keeps_codes_and_commands_whole_at_any_width(width):
    from rich.console import Console

    from tutor.render.classroom import render_class_report

    console = Console(record=True, width=width, force_terminal=False)
    console.print(render_class_report(report.build(_class_rows())))
    lines = console.export_text(styles=False).splitlines()
    assert max(len(line.rstrip()) for line in lines) <= width
    for whole in ("bias-averaged", "backward-vs-forward", "dnn-tutor lesson 2 --section 4", "sigmoid-derivative"):
        assert any(whole in line for line in lines), (width, whole)
    text = "\n".join(lines)
    assert text.index("bias-averaged") < text.index("relu-kink")  # still ranked
    hints = lines[next(i for i, line in enumerate(lines) if line.startswith("Hints to give")):]
    hints = hints[next(i for i, line in enumerate(hints) if line.startswith("  1. ")):]
    body = hints[:next(i for i, line in enumerate(hints) if not line.startswith("  "))]
    assert len(body) > 3 and all(line.startswith(("  1. ", "  2. ", "  3. ", "  4. ", "  5. ", "     ")) for line in body), body


def test_a_misnamed_file_is_a_missing_row_with_one_warning(tmp_path):
    from tutor.classroom import service

    folder = tmp_path / "class"
    (folder / "zoe").mkdir(parents=True)
    (folder / "zoe" / "backprop (1).py").write_text("x = 1\n")
    (folder / "zoe" / "notes.txt").write_text("hi\n")
    (folder / "xia").mkdir()
    (folder / "xia" / "dropout.py").write_text("x = 1\n")  # another exercise's file: not a misnamed one
    (folder / "ken").mkdir()  # nothing at all
    warnings: list[str] = []
    run = service.grade_class(folder, exercise="backprop", out=tmp_path / "g.csv", jobs=1, seed=7, on_warning=warnings.append)
    assert {r.student: r.status for r in run.rows} == {"ken": "missing", "xia": "missing", "zoe": "missing"}
    assert warnings == [
        "ken has no backprop.py (the folder is empty): nothing was handed in",
        "xia has no backprop.py (the folder holds dropout.py (another exercise))",
        "zoe has no backprop.py (the folder holds backprop (1).py): rename the file to grade it",
    ]


def _signal_masks(pid: int) -> tuple[int, int]:
    from pathlib import Path

    fields = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
    return int(fields["SigIgn"], 16), int(fields["SigCgt"], 16)


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/status"), reason="needs /proc")
@pytest.mark.parametrize("parent_ignores", [True, False])
def test_a_worker_ignores_ctrl_c_exactly_when_its_parent_does(tmp_path, parent_ignores):
    """Started in the background by a script, the parent ignores SIGINT: a Ctrl-C to the group must not kill its workers."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from multiprocessing import Pipe

    from tutor.classroom import pool

    sigint, sigterm = 1 << (signal.SIGINT - 1), 1 << (signal.SIGTERM - 1)

    # a worker of its own process (python -m tutor.classroom.pool): SIGINT ignored is inherited through exec
    def start():
        if parent_ignores:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen([sys.executable, "-m", "tutor.classroom.pool"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=start)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ignored, caught = _signal_masks(proc.pid)
            if caught & sigterm:  # main() has installed its handlers
                break
            time.sleep(0.05)
        assert bool(ignored & sigint) is parent_ignores and bool(caught & sigint) is not parent_ignores
    finally:
        proc.kill()
        proc.wait()

    # a forked worker (_serve): told by its parent
    parent_end, child_end = Pipe()
    log = tmp_path / "worker.log"
    log.write_text("")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        parent_end.close()
        try:
            pool._serve(child_end, str(log), parent_ignores)
        finally:
            os._exit(0)
    child_end.close()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ignored, caught = _signal_masks(pid)
            if caught & sigterm:
                break
            time.sleep(0.02)
        assert bool(ignored & sigint) is parent_ignores and bool(caught & sigint) is not parent_ignores
    finally:
        parent_end.close()  # the worker sees its input close and exits
        os.waitpid(pid, 0)


def test_merge_out_dash_is_refused_not_a_file_named_dash(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    part = tmp_path / "p1.csv"
    gradebook.write(part, [_row("alice")])
    result = runner.invoke(app, ["grade", "merge", str(part), "--out", "-"])
    assert result.exit_code == 2 and "--out -: this writes a file" in result.stderr
    assert not (tmp_path / "-").exists()


def test_grade_check_and_the_notebook_take_the_same_seeds():
    """A seed `check --seed` takes (up to 2**63 - 1) is taken by `grade` and `%%dnn_check` too, and refused alike."""
    from IPython.core.error import UsageError

    from tutor.classroom.service import validate_options
    from tutor.errors import TutorError
    from tutor.grading.engine import check_seed
    from tutor.notebook import grade_cell

    big = 2**40
    assert check_seed(big) == big and validate_options(1, 10.0, big) == 1
    with pytest.raises(TutorError) as from_grade:
        validate_options(1, 10.0, 2**63)
    with pytest.raises(UsageError) as from_notebook:
        grade_cell("backprop", "x = 1\n", seed=2**63)
    with pytest.raises(TutorError) as from_check:
        check_seed(2**63)
    assert str(from_grade.value) == str(from_notebook.value) == str(from_check.value)


# ---------------------------------------------------------------- one run per gradebook, folders, odd names, Canvas


def _fake_pool(monkeypatch) -> list:
    """pool.run without workers: every task is "done", its row hashed as the grader hashes (the one file)."""
    from tutor.classroom import pool

    started: list = []

    def run(tasks, jobs, on_row, on_warning=None, fork=True):
        for task in tasks:
            started.append(task)
            on_row(Row(task.student, task.exercise, 15, 15, "done", [], 0.1, submissions.file_sha256(Path(task.path)), task.seed))

    monkeypatch.setattr(pool, "run", run)
    return started


def _graded_flat_class(tmp_path) -> tuple[Path, Path]:
    """A flat class of one student, already in its gradebook: a run has nothing to grade and starts no worker."""
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "zed.py").write_text("x = 1\n")
    book = tmp_path / "same.csv"
    gradebook.write(book, [Row("zed", "backprop", 15, 15, "done", [], 0.5, submissions.file_sha256(flat / "zed.py"), 7)])
    return flat, book


def test_a_second_run_on_the_same_gradebook_stops_at_once_and_changes_nothing(runner, tmp_path):
    flat, book = _graded_flat_class(tmp_path)
    before = book.read_bytes()
    with gradebook.lock(book):  # a run in progress
        assert gradebook.lock_path(book) == tmp_path / "same.csv.lock" and gradebook.lock_path(book).exists()
        result = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "--out", str(book)])
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1
        assert f"another dnn-tutor grade is writing {book}; wait for it or use another --out" in result.stderr
        assert "Traceback" not in result.output
        parts = _parts(tmp_path, ["amy"], ["bea"])
        merged = runner.invoke(app, ["grade", "merge", *map(str, parts), "--out", str(book), "--force"])
        assert merged.exit_code == 2 and "another dnn-tutor grade is writing" in merged.stderr
        assert book.read_bytes() == before and not list(tmp_path.glob("same.csv.bak*"))
    assert not gradebook.lock_path(book).exists()  # removed by the run that held it
    result = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "--out", str(book)])
    assert result.exit_code == 0, result.output
    assert "skipped 1" in result.stdout and not gradebook.lock_path(book).exists()


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(runner, tmp_path):
    import signal
    import subprocess
    import sys

    flat, book = _graded_flat_class(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from tutor.classroom import gradebook\n"
         "with gradebook.lock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(600)", str(book)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        busy = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "--out", str(book)])
        assert busy.exit_code == 2 and "another dnn-tutor grade is writing" in busy.stderr and str(book) in busy.stderr
        holder.send_signal(signal.SIGKILL)  # no clean-up: the lock file stays behind
        holder.wait(30)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert gradebook.lock_path(book).exists()
    result = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "--out", str(book)])
    assert result.exit_code == 0, result.output
    assert "skipped 1" in result.stdout and not gradebook.lock_path(book).exists()


def test_a_changed_helper_file_grades_a_folder_submission_again(monkeypatch, tmp_path):
    import hashlib

    from tutor.classroom import service

    started = _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    (cls / "amy" / "exercises").mkdir(parents=True)
    (cls / "amy" / "exercises" / "backprop.py").write_text("from helpers import relu\n")
    (cls / "amy" / "helpers.py").write_text("def relu(x):\n    return x\n")
    (cls / "bo").mkdir()
    (cls / "bo" / "backprop.py").write_text("x = 1\n")
    (cls / "bo" / "notes.txt").write_text("not python\n")
    book = tmp_path / "g.csv"

    def grade() -> dict[str, Row]:
        started.clear()
        service.grade_class(cls, exercise="backprop", out=book, jobs=1, seed=7)
        return {r.student: r for r in gradebook.read(book)}

    (cls / "cy").mkdir()
    (cls / "cy" / "backprop.py").write_text("x = 2\n")
    first = grade()
    assert sorted(t.student for t in started) == ["amy", "bo", "cy"]
    # a folder holding only the exercise's file keeps the digest gradebooks have always held: the file's
    assert first["cy"].sha256 == hashlib.sha256(b"x = 2\n").hexdigest()
    assert first["bo"].sha256 != hashlib.sha256(b"x = 1\n").hexdigest()  # and its notes, which the code may read
    assert first["amy"].sha256 == submissions.submission_sha256(cls / "amy" / "exercises" / "backprop.py", cls / "amy")
    assert first["amy"].sha256 != submissions.file_sha256(cls / "amy" / "exercises" / "backprop.py")
    grade()
    assert started == []  # nothing changed: nothing graded
    (cls / "amy" / "helpers.py").write_text("def relu(x):\n    return x * (x > 0)\n")  # only the helper changes
    grade()
    assert [t.student for t in started] == ["amy"]
    (cls / "amy" / "more").mkdir()
    (cls / "amy" / "more" / "util.py").write_text("y = 2\n")  # a new helper, in a subfolder
    grade()
    assert [t.student for t in started] == ["amy"]
    (cls / "bo" / "notes.txt").write_text("still not python\n")  # the graded code may read it
    grade()
    assert [t.student for t in started] == ["bo"]
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "cy.py").write_text("z = 3\n")
    assert submissions.submission_sha256(flat / "cy.py", flat / "cy.py") == hashlib.sha256(b"z = 3\n").hexdigest()


def test_a_changed_data_file_hidden_file_or_compiled_helper_grades_a_folder_again(monkeypatch, tmp_path):
    """A submission that reads scale.txt kept its 15/15 after scale.txt changed: only .py files were hashed,
    and a rerun said "skipped 1 unchanged" where a fresh run gave 10/15."""
    from tutor.classroom import service

    started = _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    (cls / "dave" / ".sub").mkdir(parents=True)
    (cls / "dave" / "backprop.py").write_text("k = float(open('scale.txt').read())\n")
    (cls / "dave" / "scale.txt").write_text("1.0\n")
    book = tmp_path / "g.csv"

    def graded() -> list[str]:
        started.clear()
        service.grade_class(cls, exercise="backprop", out=book, jobs=1, seed=7)
        return [t.student for t in started]

    assert graded() == ["dave"]
    assert graded() == []
    for name, content in (("scale.txt", b"2.0\n"), (".sub/helpers.pyc", b"\x00"), (".hidden.zip", b"PK")):
        (cls / "dave" / name).write_bytes(content)
        assert graded() == ["dave"], name
        assert graded() == [], name
    (cls / "dave" / "__pycache__").mkdir()  # a teacher's own `python backprop.py`: the grader never runs it
    (cls / "dave" / "__pycache__" / "helpers.cpython-311.pyc").write_bytes(b"\x00")
    assert graded() == []


def test_odd_names_in_a_flat_folder_are_graded_or_named_in_a_warning(monkeypatch, tmp_path):
    import os

    from tutor.classroom import service

    started = _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in ("ann.py", "BEN.PY", "cat.Py", "dan.py.txt", "eve (1).py", "fay.ipynb", " .py", "roster.csv"):
        (flat / name).write_text("x = 1\n")
    os.mkdir(flat / " ")
    warnings: list[str] = []
    run = service.grade_class(flat, exercise="backprop", out=tmp_path / "g.csv", jobs=1, seed=7, on_warning=warnings.append)
    assert sorted(r.student for r in run.rows) == sorted(["ann", "BEN", "cat", "eve (1)", "dan", "fay"])
    assert {r.student: r.status for r in run.rows}["fay"] == "missing"  # a row of their own, with the reason
    assert sorted(Path(t.path).name for t in started) == sorted(["ann.py", "BEN.PY", "cat.Py", "eve (1).py"])
    assert len(warnings) == 4, warnings
    assert any("dan.py.txt" in w and "rename it dan.py" in w for w in warnings)
    assert any("fay.ipynb" in w and "cannot read notebooks" in w and "fay.py" in w for w in warnings)
    assert any("' '" in w and "blank name" in w and "folder" in w for w in warnings)
    assert any("' .py'" in w and "blank name" in w for w in warnings)


def test_a_flat_class_gives_a_row_to_a_student_who_handed_in_an_archive(monkeypatch, tmp_path):
    """bob.zip and Canvas's bobsmith_45678_72000_submission.zip beside amy.py: "1 of 1 done", no row, no word."""
    from tutor.classroom import service

    started = _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "amy.py").write_text("x = 1\n")
    for name in ("bob.zip", "bobsmith_45678_72000_submission.zip", "cy.tar.gz", "notes.txt", "amy.zip"):
        (flat / name).write_bytes(b"PK")
    warnings: list[str] = []
    run = service.grade_class(flat, exercise="rnn", out=tmp_path / "g.csv", jobs=1, seed=7, on_warning=warnings.append)
    rows = {r.student: r for r in run.rows}
    assert sorted(rows) == ["amy", "bob", "bobsmith", "cy"]  # notes.txt names nobody; amy.zip is beside her file
    assert [Path(t.path).name for t in started] == ["amy.py"]
    assert rows["bob"].status == "missing" and rows["bob"].note == "holds bob.zip"
    assert rows["cy"].note == "holds cy.tar.gz"
    assert any("bobsmith has no .py file" in w and "unpack it" in w and "bobsmith.py" in w for w in warnings)


def test_a_symlink_loop_in_a_class_folder_is_one_unreadable_row_not_the_end_of_the_run(monkeypatch, tmp_path):
    """`ln -s loop.py loop.py` beside amy.py: exit 2, "cannot use .../loop.py: too many symbolic links", nobody graded."""
    from tutor.classroom import service

    started = _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "amy.py").write_text("x = 1\n")
    (flat / "loop.py").symlink_to("loop.py")
    (flat / "knot").symlink_to("knot")
    run = service.grade_class(flat, exercise="backprop", out=tmp_path / "g.csv", jobs=1, seed=7)
    rows = {r.student: r for r in run.rows}
    assert [Path(t.path).name for t in started] == ["amy.py"]
    assert rows["loop"].status == "unreadable" and "link" in rows["loop"].note
    assert "knot" not in rows


def test_a_students_near_miss_is_graded_or_warned_about(monkeypatch, tmp_path):
    from tutor.classroom import service

    started = _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    for student in ("upper_case", "notebooker", "texter", "ok"):
        (cls / student).mkdir(parents=True)
    (cls / "upper_case" / "BACKPROP.PY").write_text("x = 1\n")
    (cls / "notebooker" / "backprop.ipynb").write_text("{}\n")
    (cls / "texter" / "backprop.py.txt").write_text("x = 1\n")
    (cls / "ok" / "backprop.py").write_text("x = 1\n")
    warnings: list[str] = []
    run = service.grade_class(cls, exercise="backprop", out=tmp_path / "g.csv", jobs=1, seed=7, on_warning=warnings.append)
    statuses = {r.student: r.status for r in run.rows}
    assert statuses == {"upper_case": "done", "ok": "done", "notebooker": "missing", "texter": "missing"}
    assert sorted(Path(t.path).name for t in started) == ["BACKPROP.PY", "backprop.py"]
    assert warnings == [
        "notebooker has no backprop.py (the folder holds backprop.ipynb): grade cannot read notebooks: "
        "export it as backprop.py (File > Save and Export As > Python)",
        "texter has no backprop.py (the folder holds backprop.py.txt): rename the file to grade it",
    ]


def test_an_exercise_no_student_holds_is_refused_and_the_gradebook_kept(runner, tmp_path):
    cls = tmp_path / "class"
    for student in ("amy", "bo"):
        (cls / student).mkdir(parents=True)
        (cls / student / "backprop.py").write_text("x = 1\n")
    (cls / "cy").mkdir()
    book = tmp_path / "g.csv"
    result = runner.invoke(app, ["grade", str(cls), "-e", "dropout", "--out", str(book)])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert "holds dropout.py (they hold backprop.py): is --exercise right?" in result.stderr
    assert not book.exists() and not gradebook.lock_path(book).exists()
    gradebook.write(book, [_row("amy", exercise="dropout")])
    before = book.read_bytes()
    result = runner.invoke(app, ["grade", str(cls), "-e", "dropout", "--out", str(book)])
    assert result.exit_code == 2 and "is --exercise right?" in result.stderr
    assert book.read_bytes() == before


def test_some_students_missing_the_file_still_get_rows(monkeypatch, tmp_path):
    from tutor.classroom import service

    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    (cls / "amy").mkdir(parents=True)
    (cls / "amy" / "backprop.py").write_text("x = 1\n")
    (cls / "bo").mkdir()
    run = service.grade_class(cls, exercise="backprop", out=tmp_path / "g.csv", jobs=1, seed=7)
    assert {r.student: r.status for r in run.rows} == {"amy": "done", "bo": "missing"}


def test_canvas_download_names_are_one_student_each(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in (
        "smithjohn_12345_67890_backprop.py",
        "smithjohn_LATE_12345_67891_backprop-1.py",
        "doejane_23456_78901_backprop.py",
        "leeann_late_34567_89012_backprop-2.py",
        "kim_x1_78901_backprop.py",  # not all digits: not Canvas's naming
        "park_123_backprop.py",  # one id only
    ):
        (flat / name).write_text("x = 1\n")
    found = {s.student: s for s in submissions.discover(flat, {"backprop": "backprop.py"}, "backprop")}
    assert sorted(found) == sorted(["smithjohn", "doejane", "leeann", "kim_x1_78901_backprop", "park_123_backprop"])
    assert found["doejane"].problem == "" and found["doejane"].path.name == "doejane_23456_78901_backprop.py"
    assert found["leeann"].problem == ""
    # two submissions of one student: the later (the higher submission id) is the one Canvas holds as current
    assert found["smithjohn"].problem == "" and found["smithjohn"].path.name == "smithjohn_LATE_12345_67891_backprop-1.py"
    assert found["smithjohn"].others == ("smithjohn_12345_67890_backprop.py",)


def test_a_jsonl_gradebook_nested_thousands_deep_is_one_line_not_an_internal_error(runner, tmp_path):
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"student":' + "[" * 100_000 + "]" * 100_000 + "}\n")
    for args in (["grade", "report", str(deep)], ["grade", "merge", str(deep), "--out", str(tmp_path / "out.jsonl")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "not valid JSON" in result.stderr and len(result.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- the wrong exercise for a flat class, Canvas resubmissions, kept grades


def test_a_flat_class_of_another_exercises_files_is_refused_and_the_gradebook_kept(runner, tmp_path, monkeypatch):
    started = _fake_pool(monkeypatch)
    flat = tmp_path / "class1"
    flat.mkdir()
    for student in ("amy", "bo", "cy"):
        (flat / f"{student}.py").write_text((SOLUTIONS / "dropout.py").read_text())
    (flat / "dee.py").write_text("def broken(:\n")  # cannot be parsed: passed over, not an error
    book = tmp_path / "g.csv"
    result = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "--out", str(book)])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert f"no submission in {flat} defines any of backprop's functions (dense_forward, " in result.stderr
    assert "they define dropout's (dropout_forward, dropout_backward, l2_penalty): is --exercise right?" in result.stderr
    assert not book.exists() and not gradebook.lock_path(book).exists() and started == []
    gradebook.write(book, [_row("amy")])
    before = book.read_bytes()
    result = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "--out", str(book)])
    assert result.exit_code == 2 and "is --exercise right?" in result.stderr
    assert book.read_bytes() == before and started == []
    # functions of no exercise: named as they are
    (other := tmp_path / "other").mkdir()
    (other / "eve.py").write_text("def helper():\n    pass\n\nasync def fetch():\n    pass\n")
    result = runner.invoke(app, ["grade", str(other), "-e", "backprop", "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "they define fetch, helper: is --exercise right?" in result.stderr
    # one student has the exercise's functions: the class is graded as before, every student a row
    (flat / "fay.py").write_text((SOLUTIONS / "backprop.py").read_text())
    result = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "--out", str(tmp_path / "some.csv")])
    assert result.exit_code == 0, result.output
    assert sorted(t.student for t in started) == ["amy", "bo", "cy", "dee", "fay"]
    # and so is a class whose files define no function at all (starter files, a stub)
    started.clear()
    (stubs := tmp_path / "stubs").mkdir()
    (stubs / "gus.py").write_text("x = 1\n")
    result = runner.invoke(app, ["grade", str(stubs), "-e", "backprop", "--out", str(tmp_path / "stubs.csv")])
    assert result.exit_code == 0 and [t.student for t in started] == ["gus"]


def test_a_late_canvas_resubmission_is_graded_and_the_older_one_passed_over(monkeypatch, tmp_path):
    from tutor.classroom import service

    started = _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "frank_12345_67890_dropout.py").write_text((SOLUTIONS / "dropout.py").read_text())
    book = tmp_path / "g.csv"

    def grade() -> tuple[dict[str, Row], list[str]]:
        started.clear()
        warnings: list[str] = []
        service.grade_class(flat, exercise="dropout", out=book, jobs=1, seed=7, on_warning=warnings.append)
        return {r.student: r for r in gradebook.read(book)}, warnings

    rows, warnings = grade()
    assert rows["frank"].status == "done" and warnings == []
    (flat / "frank_LATE_12345_67891_dropout-1.py").write_text((SOLUTIONS / "dropout.py").read_text() + "# late\n")
    rows, warnings = grade()
    assert [Path(t.path).name for t in started] == ["frank_LATE_12345_67891_dropout-1.py"]
    assert rows["frank"].status == "done" and rows["frank"].passed == 15
    assert rows["frank"].sha256 == submissions.file_sha256(flat / "frank_LATE_12345_67891_dropout-1.py")
    assert warnings[0] == (
        "frank: graded frank_LATE_12345_67891_dropout-1.py, Canvas's latest submission; "
        "passed over the older frank_12345_67890_dropout.py"
    )
    assert len(warnings) == 2 and warnings[1].startswith("this run replaces an earlier graded row (frank's, and any after it)")
    # two user ids under one name are two students, told apart by the id as Moodle's are; one submission of two
    # files is graded as the file uploaded as dropout.py, the other beside it (tests/test_class_fixes.py)
    for names in (
        ("gil_111_500_dropout.py", "gil_111_500_helpers.py"),
        ("hal_111_500_dropout.py", "hal_222_600_dropout.py"),
    ):
        for name in names:
            (flat / name).write_text("x = 1\n")
    found = {s.student: s for s in submissions.discover(flat, {"dropout": "dropout.py"}, "dropout")}
    assert "hal" not in found and found["gil"].upload == "dropout.py"
    assert (found["hal_111"].path.name, found["hal_222"].path.name) == ("hal_111_500_dropout.py", "hal_222_600_dropout.py")
    assert not found["hal_111"].problem and not found["hal_222"].problem


def test_a_row_without_a_grade_never_replaces_a_graded_one(monkeypatch, tmp_path):
    from tutor.classroom import pool, service

    started = _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    cls.mkdir()
    (cls / "frank_12345_67890_dropout.py").write_text("x = 1\n")
    book = tmp_path / "g.csv"
    warnings: list[str] = []
    service.grade_class(cls, exercise="dropout", out=book, jobs=1, seed=7, on_warning=warnings.append)
    graded = gradebook.read(book)
    assert [(r.student, r.status) for r in graded] == [("frank", "done")]
    (cls / "frank").mkdir()  # frank/ as well: which one frank meant is not ours to say
    (cls / "frank" / "dropout.py").write_text("x = 2\n")
    warnings.clear()
    run = service.grade_class(cls, exercise="dropout", out=book, jobs=1, seed=7, on_warning=warnings.append)
    assert [r.to_dict() for r in gradebook.read(book)] == [r.to_dict() for r in graded]
    assert [r.to_dict() for r in run.rows] == [r.to_dict() for r in graded]
    assert any("frank is named by both" in w for w in warnings)
    assert "frank (dropout) could not be graded this time (ambiguous): the gradebook keeps the earlier row (15/15 done)" in warnings
    # a grader error on a changed file keeps the earlier grade too, and the file is graded again next run
    import shutil

    shutil.rmtree(cls / "frank")
    (cls / "frank_12345_67890_dropout.py").write_text("x = 3\n")

    def failing(tasks, jobs, on_row, on_warning=None, fork=True):
        for task in tasks:
            started.append(task)
            on_row(Row(task.student, task.exercise, 0, 15, "error", ["error"], 0.1, submissions.file_sha256(Path(task.path)), task.seed))

    monkeypatch.setattr(pool, "run", failing)
    warnings.clear()
    service.grade_class(cls, exercise="dropout", out=book, jobs=1, seed=7, on_warning=warnings.append)
    assert [r.to_dict() for r in gradebook.read(book)] == [r.to_dict() for r in graded]
    assert warnings == ["frank (dropout) could not be graded this time (error): the gradebook keeps the earlier row (15/15 done)"]
    # where the gradebook held no grade, the new row is written as before
    gradebook.write(book, [Row("frank", "dropout", 0, 15, "missing", ["missing"], 0.0, "", 7)])
    warnings.clear()
    service.grade_class(cls, exercise="dropout", out=book, jobs=1, seed=7, on_warning=warnings.append)
    assert [r.status for r in gradebook.read(book)] == ["error"] and warnings == []
