"""The classroom grader attacked: one name in two Unicode forms across gradebook parts, a student's folder
beside their archive, archives a class of folders cannot grade, ids that differ only in case, an unreadable
file, and gradebooks a spreadsheet re-saved or that are no gradebook at all. Fast: a stand-in pool grades
(no learner code runs), or the gradebooks are written by hand."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest

from tutor.classroom import gradebook, service
from tutor.classroom.gradebook import Row
from tutor.cli import app

SHA = "a" * 64
NFC = "Zo\u00eb"  # Zoë as one character
NFD = unicodedata.normalize("NFD", NFC)  # Zoë as e and a combining diaeresis, as macOS writes file names


def _row(student, passed=15, codes=(), exercise="backprop", seed=7):
    return Row(student, exercise, passed, 15, "done" if passed == 15 else "partial", list(codes), 0.5, SHA, seed)


def _fake_pool(monkeypatch) -> list:
    """pool.run without workers: every task is "done" (test_grade_merge's stand-in)."""
    from test_grade_merge import _fake_pool as fake

    return fake(monkeypatch)


def _grade(folder: Path, book: Path, exercise: str = "rnn") -> tuple[service.ClassRun, list[str]]:
    warnings: list[str] = []
    run = service.grade_class(folder, exercise=exercise, out=book, jobs=1, seed=7, on_warning=warnings.append)
    return run, warnings


def _one_line_error(result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# ---------------------------------------------------------------- 1. one name in two Unicode forms


def test_merge_takes_one_name_in_two_unicode_forms_as_one_student(runner, tmp_path):
    """Zoë decomposed in one part (graded by a dnn-tutor that kept the folder's bytes) and composed in another:
    one student in both parts, refused as any student graded in two parts is; alone, one composed row."""
    first, second, third = tmp_path / "p1.csv", tmp_path / "p2.csv", tmp_path / "p3.csv"
    gradebook.write(first, [_row(NFD), _row("amy")])
    gradebook.write(second, [_row(NFC, passed=10)])
    gradebook.write(third, [_row("bob")])
    out = tmp_path / "book.csv"
    result = runner.invoke(app, ["grade", "merge", str(first), str(second), "--out", str(out)])
    line = _one_line_error(result, "is in both", "two Unicode forms", str(first), str(second))
    assert "(as 'Zoe\\u0308')" in line and "(as 'Zo\\xeb')" in line  # which part writes which form
    assert not out.exists()

    result = runner.invoke(app, ["grade", "merge", str(first), str(third), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["students"] == 3
    students = [r.student for r in gradebook.read(out)]
    assert students == [NFC, "amy", "bob"]  # the merged gradebook holds the id as grading gives it
    assert NFD.encode() not in out.read_bytes()


def test_report_counts_one_name_in_two_unicode_forms_as_one_student(runner, tmp_path):
    decomposed = tmp_path / "nfd.csv"
    gradebook.write(decomposed, [_row(NFD, 11, ["bias-averaged"]), _row("amy", 11, ["bias-averaged"])])
    result = runner.invoke(app, ["grade", "report", str(decomposed), "--json"])
    assert result.exit_code == 0, result.output
    (exercise,) = json.loads(result.stdout)["exercises"]
    assert exercise["mistakes"][0]["student_ids"] == [NFC, "amy"]

    both = tmp_path / "both.csv"  # a gradebook an older merge wrote: the one student twice
    gradebook.write(both, [_row(NFD), _row(NFC, passed=10), _row("amy")])
    result = runner.invoke(app, ["grade", "report", str(both)])
    _one_line_error(result, str(both), "two rows", "two Unicode forms", "delete one of the two rows")


# ---------------------------------------------------------------- 2. a student's folder beside their archive


@pytest.mark.parametrize("flat", [False, True], ids=["class-of-folders", "with-a-flat-file"])
def test_a_folder_and_an_archive_of_one_student_are_one_row_saying_which_was_graded(monkeypatch, tmp_path, flat):
    """bob/rnn.py beside bob.zip: in a class that also held amy.py, the warning said bob "has no .py file",
    and bob was given a second, missing row; in a class of folders, the zip was passed over without a word."""
    started = _fake_pool(monkeypatch)
    klass = tmp_path / "class"
    (klass / "bob").mkdir(parents=True)
    (klass / "bob" / "rnn.py").write_text("x = 1\n")
    (klass / "bob.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    if flat:
        (klass / "amy.py").write_text("x = 1\n")
    else:
        (klass / "amy").mkdir()
        (klass / "amy" / "rnn.py").write_text("x = 1\n")
    run, warnings = _grade(klass, tmp_path / "g.csv")
    assert not any("has no .py file" in w or "has no rnn.py" in w for w in warnings), warnings
    bob = [r for r in run.rows if r.student == "bob"]
    assert len(bob) == 1 and bob[0].status == "done"
    assert sorted(Path(t.path).relative_to(klass).as_posix() for t in started) == ["amy.py" if flat else "amy/rnn.py", "bob/rnn.py"]
    assert "passed over bob.zip" in bob[0].note and "unpack it into bob/" in bob[0].note
    assert [w for w in warnings if w.startswith("bob")] == [f"bob: graded bob/rnn.py, {bob[0].note}"]
    assert len(gradebook.read(tmp_path / "g.csv")) == 2


def test_an_empty_folder_beside_the_students_archive_says_to_unpack_it(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    klass = tmp_path / "class"
    for name in ("amy", "bob"):
        (klass / name).mkdir(parents=True)
    (klass / "amy" / "rnn.py").write_text("x = 1\n")
    (klass / "bob.zip").write_bytes(b"PK")
    run, warnings = _grade(klass, tmp_path / "g.csv")
    (bob,) = [r for r in run.rows if r.student == "bob"]
    assert bob.status == "missing" and "bob.zip" in bob.note
    assert any(w.startswith("bob has no rnn.py") and "bob.zip" in w and "unpack it into bob/ to grade it" in w for w in warnings)


# ---------------------------------------------------------------- 3. a hostile class folder


def test_archives_in_a_class_of_folders_are_named_not_passed_over_in_silence(monkeypatch, tmp_path, runner):
    """An empty zip, a corrupt one, a zip of a zip, one with ../ and absolute paths: never opened, and each named
    in one warning (a class of folders gives them no row); a class of nothing else is refused saying so."""
    import zipfile

    _fake_pool(monkeypatch)
    klass = tmp_path / "class"
    (klass / "amy").mkdir(parents=True)
    (klass / "amy" / "rnn.py").write_text("x = 1\n")
    (klass / "empty.zip").write_bytes(b"")
    (klass / "corrupt.zip").write_bytes(os.urandom(64))
    with zipfile.ZipFile(klass / "evil.zip", "w") as archive:
        archive.writestr("../../escape.py", "x = 1\n")
        archive.writestr("/tmp/absolute.py", "x = 1\n")
    with zipfile.ZipFile(klass / "nested.zip", "w") as archive:
        archive.write(klass / "evil.zip", "inner.zip")
    run, warnings = _grade(klass, tmp_path / "g.csv")
    assert [r.student for r in run.rows] == ["amy"]
    assert warnings == ["4 archives (corrupt.zip, empty.zip, evil.zip, nested.zip): not graded (grade does not unpack "
                        "archives); unpack each into a folder named for its student to grade it"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class", "g.csv", "home"]  # nothing was unpacked

    (klass / "amy" / "rnn.py").unlink()
    (klass / "amy").rmdir()
    result = runner.invoke(app, ["grade", str(klass), "-e", "rnn", "-o", str(tmp_path / "h.csv")])
    _one_line_error(result, "holds no submissions, only 4 archive(s)", "corrupt.zip", "unpack each")
    assert not (tmp_path / "h.csv").exists()


def test_a_class_whose_folders_are_empty_beside_archives_is_told_to_unpack_them(runner, tmp_path):
    """bob/ and cy/ empty, bob.zip and cy.zip beside them: refused (nothing to grade), but not as a wrong
    --exercise: the work is in the archives."""
    klass = tmp_path / "class"
    for name in ("bob", "cy"):
        (klass / name).mkdir(parents=True)
        (klass / f"{name}.zip").write_bytes(b"PK")
    result = runner.invoke(app, ["grade", str(klass), "-e", "rnn", "-o", str(tmp_path / "g.csv")])
    line = _one_line_error(result, "2 archive(s) (bob.zip, cy.zip)", "unpack each into its student's folder")
    assert "is --exercise right?" not in line


def test_students_whose_ids_differ_only_in_case_are_graded_and_named_in_a_warning(monkeypatch, tmp_path):
    started = _fake_pool(monkeypatch)
    klass = tmp_path / "class"
    for name in ("Alice", "alice", "amy"):
        (klass / name).mkdir(parents=True)
        (klass / name / "rnn.py").write_text(f"# {name}\n")
    run, warnings = _grade(klass, tmp_path / "g.csv")
    assert sorted(t.student for t in started) == ["Alice", "alice", "amy"]
    assert [r.student for r in run.rows] == ["Alice", "alice", "amy"]
    twins = [w for w in warnings if "differ only in case" in w]
    assert twins == ["Alice/ and alice/ name students whose ids differ only in case: graded as 2 students; "
                     "if they are one student, keep one of them and grade again"]


def test_an_unreadable_file_says_how_to_make_it_gradable(monkeypatch, tmp_path):
    """(As root every file is readable: the permission check is what is stood in for.)"""
    started = _fake_pool(monkeypatch)
    klass = tmp_path / "class"
    for name in ("amy", "carl"):
        (klass / name).mkdir(parents=True)
        (klass / name / "rnn.py").write_text("x = 1\n")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: "carl" not in str(path) and real_access(path, mode, **kw))
    run, warnings = _grade(klass, tmp_path / "g.csv")
    assert [t.student for t in started] == ["amy"]
    carl = next(r for r in run.rows if r.student == "carl")
    assert (carl.status, carl.note) == ("unreadable", "not readable (no permission)")
    assert ("carl: carl/rnn.py is not readable (no permission): not graded (unreadable); make it readable to the "
            "account that grades (chmod a+r) and run again") in warnings


# ---------------------------------------------------------------- gradebooks that are not what they seem


HEADER = ",".join(gradebook.COLUMNS)
ROW = "amy,backprop,15,15,1,done,,0.1,,7,20,"


@pytest.mark.parametrize(
    "content, words",
    [
        ((HEADER + "\n" + ROW + "\n").replace(",", ";").encode(), ("separated by semicolons", "save it with commas")),
        ((HEADER + "\n" + ROW + "\n").replace(",", "\t").encode(), ("separated by tabs", "save it with commas")),
        ("a 50 MB line", ("line 2: a value longer than",)),  # made in the test: not in every worker's collection
        ((HEADER + '\n"' + "x" * (1024 * 1024)).encode(), ("line 2: a value longer than", "unclosed quote")),
        ((HEADER + "\n" + ROW + ",A\n").encode(), ("line 2: 13 values for 12 columns", "must be in double quotes")),
    ],
    ids=["semicolons", "tabs", "a-50-MB-line", "an-unclosed-quote", "an-extra-value"],
)
def test_merge_and_report_refuse_a_resaved_or_huge_gradebook_in_one_line(runner, tmp_path, content, words):
    book = tmp_path / "book.csv"
    if content == "a 50 MB line":
        content = (HEADER + "\n" + ROW + "x" * (50 * 1024 * 1024) + "\n").encode()
    book.write_bytes(content)
    other = tmp_path / "other.csv"
    gradebook.write(other, [_row("bob")])
    out = tmp_path / "out.csv"
    for args in (["grade", "report", str(book)], ["grade", "merge", str(book), str(other), "-o", str(out)]):
        _one_line_error(runner.invoke(app, args), str(book), *words)
    assert not out.exists()


def test_an_out_in_a_folder_that_cannot_be_written_is_one_line_saying_so(runner, tmp_path):
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs Linux's /proc, a folder no one can create files in")
    part = tmp_path / "p1.csv"
    gradebook.write(part, [_row("amy")])
    result = runner.invoke(app, ["grade", "merge", str(part), "-o", "/proc/dnn-tutor-book.csv"])
    _one_line_error(result, "cannot write /proc/dnn-tutor-book.csv", "folder you can write")


def test_a_gradebook_is_never_written_where_it_would_be_graded(runner, tmp_path):
    """-o inside a student's folder put every grade where that student's code may read, and changed the folder
    (graded again each run); -o new.py in a flat class became a student the next run. Both are refused before
    anything is written; beside the students, or in a hidden folder, is fine."""
    klass = tmp_path / "class"
    (klass / "amy").mkdir(parents=True)
    (klass / "amy" / "backprop.py").write_text("x = 1\n")
    inside = klass / "amy" / "g.csv"
    result = runner.invoke(app, ["grade", str(klass), "-e", "backprop", "-o", str(inside)])
    _one_line_error(result, "inside amy/, a student's folder", "could read the gradebook")
    assert sorted(p.name for p in (klass / "amy").iterdir()) == ["backprop.py"]

    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "amy.py").write_text("x = 1\n")
    result = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "-o", str(flat / "book.py")])
    _one_line_error(result, "is a .py file in the class folder", "name the gradebook .csv or .jsonl")
    assert sorted(p.name for p in flat.iterdir()) == ["amy.py"]

    (klass / ".grades").mkdir()
    service._check_out_place(klass / ".grades" / "g.csv", klass)  # discovery never looks there: allowed
    service._check_out_place(klass / "g.csv", klass)
    service._check_out_place(tmp_path / "g.csv", klass)


def test_a_gradebook_that_cannot_be_written_says_why_not_to_free_space(monkeypatch, tmp_path, runner):
    """A gradebook made read-only (or immutable): "Free some space" sent the teacher after the wrong cause."""
    import errno

    from tutor import fsutil

    _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "amy.py").write_text("x = 1\n")
    book = tmp_path / "g.csv"
    gradebook.write(book, [])
    before = book.read_bytes()

    def refused(path, data, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fsutil, "atomic_write_bytes", refused)
    result = runner.invoke(app, ["grade", str(flat), "-e", "rnn", "--seed", "7", "-o", str(book)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert f"cannot write {book}: Permission denied (the previous version is kept)" in line
    assert "Make the gradebook and its folder writable" in line and "Free some space" not in line
    assert book.read_bytes() == before


def test_one_part_under_two_names_is_given_twice_not_graded_twice(runner, tmp_path):
    """A hard link of a part (or a copy's other name) was "a part was graded twice": it is one file given twice."""
    part = tmp_path / "p1.csv"
    gradebook.write(part, [_row("amy")])
    os.link(part, tmp_path / "again.csv")
    result = runner.invoke(app, ["grade", "merge", str(part), str(tmp_path / "again.csv"), "-o", str(tmp_path / "o.csv")])
    _one_line_error(result, f"is given twice (as {part} and {tmp_path / 'again.csv'})")
    assert not (tmp_path / "o.csv").exists()


def test_a_resumed_gradebook_keeps_its_format_whatever_its_name(monkeypatch, tmp_path):
    """`grade --json > book.csv`, then `grade -o book.csv`: the JSON Lines the teacher kept became CSV."""
    _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "amy.py").write_text("x = 1\n")
    book = tmp_path / "book.csv"
    kept = Row("zed", "rnn", 6, 6, "done", [], 0.1, SHA, 7)
    book.write_text(json.dumps(kept.to_dict()) + "\n")
    _grade(flat, book)
    lines = book.read_text().splitlines()
    assert [json.loads(line)["student"] for line in lines] == ["amy", "zed"]
    assert gradebook.read(book)[1].to_dict() == kept.to_dict()
