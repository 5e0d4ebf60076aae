"""`dnn-tutor grade` end to end: a planted class graded by the real grader, in worker processes.

One class is graded once per module (each submission costs a grading child);
the tests then read its gradebook, shard it, report on it and resume it. All
slow: they run learner code.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "tests" / "solutions"
STARTERS = REPO / "exercises"

pytestmark = pytest.mark.slow

SEED = 1234
TIMEOUT = "4"
SOLUTION = (SOLUTIONS / "backprop.py").read_text()
BIAS_MEAN = ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)")
RELU_KINK = ("dx = dout * (x > 0)", "dx = dout * (x >= 0)")
SIGMOID = ("dx = dout * s * (1.0 - s)", "dx = dout * s")
LOOP = "import numpy as np\n\nwhile True:\n    pass\n"
# hank's file never finishes. It waits rather than spins: the deadline is wall-clock time either way
# (the grader's tests time out spinning loops), and a spinning one would take a core from the other
# tests for the whole timeout, twice.
WAITER = "import time\n\nwhile True:\n    time.sleep(0.05)\n"
SYNTAX = "import numpy as np\n\ndef dense_forward(x, W, b)\n    return x @ W + b\n"


def _planted(*replacements: tuple[str, str]) -> str:
    source = SOLUTION
    for old, new in replacements:
        assert old in source
        source = source.replace(old, new)
    return source


CLASS = {
    "alice": SOLUTION,
    "bob": SOLUTION,
    "carol": _planted(BIAS_MEAN),  # three students share one misconception
    "dave": _planted(BIAS_MEAN),
    "erin": _planted(BIAS_MEAN),
    "frank": _planted(RELU_KINK),
    "gina": _planted(SIGMOID),
    "hank": WAITER,
    "ivan": SYNTAX,
    "judy": (STARTERS / "backprop.py").read_text(),
    "ken": None,  # a folder without the file
}
EXPECTED = {
    "alice": ("done", 15, None),
    "bob": ("done", 15, None),
    "carol": ("partial", None, "bias-averaged"),
    "dave": ("partial", None, "bias-averaged"),
    "erin": ("partial", None, "bias-averaged"),
    "frank": ("partial", None, "relu-kink"),
    "gina": ("partial", None, "sigmoid-derivative"),
    "hank": ("timeout", 0, "timeout"),
    "ivan": ("syntax", 0, "syntax"),
    "judy": ("not started", 0, "not-started"),
    "ken": ("missing", 0, "missing"),
}


def make_class(root: Path, students: dict = CLASS) -> Path:
    root.mkdir(parents=True)
    for student, source in students.items():
        (root / student).mkdir()
        if source is not None:
            (root / student / "backprop.py").write_text(source)
    return root


def cli(*args: str, home: Path) -> SimpleNamespace:
    """``dnn-tutor ARGS`` in this process, as CliRunner runs it.

    The pool forks its workers from this process's fork server, which imports the grader and torch
    once, so the grade runs of this module share one torch import instead of paying one each (the
    Ctrl-C test below runs the real program in its own process).
    """
    from typer.testing import CliRunner

    from tutor.cli import app

    result = CliRunner().invoke(app, list(args), env={"DNN_TUTOR_HOME": str(home), "COLUMNS": "120"})
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += f"\n{type(result.exception).__name__}: {result.exception}"
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=stderr)


def rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as handle:
        return {r["student"]: r for r in csv.DictReader(handle)}


def without_seconds(path: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows(path).values()]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The planted class, graded once with --jobs 2."""
    base = tmp_path_factory.mktemp("class")
    home = base / "home"
    home.mkdir()
    folder = make_class(base / "submissions")
    book = base / "gradebook.csv"
    started = time.monotonic()
    result = cli("grade", str(folder), "--exercise", "backprop", "--jobs", "2", "--seed", str(SEED), "--timeout", TIMEOUT, "--out", str(book), home=home)
    assert result.returncode == 0, result.stderr
    return {"base": base, "home": home, "folder": folder, "book": book, "output": result.stdout, "seconds": time.monotonic() - started}


def test_every_student_gets_a_row_with_status_score_and_codes(graded):
    book = rows(graded["book"])
    assert sorted(book) == sorted(CLASS)
    for student, (status, passed, first_code) in EXPECTED.items():
        row = book[student]
        assert row["status"] == status, (student, row)
        assert row["exercise"] == "backprop" and row["seed"] == str(SEED)
        assert int(row["total"]) == 15
        if passed is not None:
            assert int(row["passed"]) == passed, (student, row)
        codes = row["codes"].split(";") if row["codes"] else []
        if first_code is None:
            assert codes == [] and float(row["score"]) == 1.0
        else:
            assert codes[0] == first_code, (student, codes)
        assert float(row["score"]) == pytest.approx(int(row["passed"]) / 15, abs=1e-3)
        source = CLASS[student]
        expected_sha = hashlib.sha256(source.encode()).hexdigest() if source is not None else ""
        assert row["sha256"] == expected_sha
    assert 0 < int(book["carol"]["passed"]) < 15
    # why a row holds no grade, in its note: the syntax error itself, an empty folder
    assert book["ivan"]["note"] == "SyntaxError line 3: expected ':'" and book["ken"]["note"] == "the folder is empty"
    assert book["hank"]["timeout"] == TIMEOUT and book["ken"]["timeout"] == ""
    # the table on stdout names every student and the summary
    for student in CLASS:
        assert student in graded["output"]
    assert "2 of 11 pass every check" in graded["output"]


def test_the_report_ranks_the_bug_three_students_share_first(graded, tmp_path, runner, monkeypatch):
    from tutor.cli import app

    monkeypatch.setenv("DNN_TUTOR_HOME", str(graded["home"]))
    monkeypatch.setenv("COLUMNS", "120")
    result = runner.invoke(app, ["grade", "report", str(graded["book"]), "--json"])
    assert result.exit_code == 0, result.output
    (ex,) = json.loads(result.stdout)["exercises"]
    top = ex["mistakes"][0]
    assert top["code"] == "bias-averaged" and top["first"] == 3
    assert top["student_ids"] == ["carol", "dave", "erin"]
    assert top["concept"] == "bp-bias-grad-value" and top["teach"].startswith("dnn-tutor lesson 2")
    assert {m["code"] for m in ex["mistakes"]} >= {"relu-kink", "sigmoid-derivative"}
    statuses = {s["status"]: s["students"] for s in ex["statuses"]}
    assert statuses == {"done": 2, "partial": 5, "not started": 1, "missing": 1, "timeout": 1, "syntax": 1}
    plot = tmp_path / "mistakes.png"
    table = runner.invoke(app, ["grade", "report", str(graded["book"]), "--save-plot", str(plot)])
    assert table.exit_code == 0, table.output
    assert table.stdout.index("bias-averaged") < table.stdout.index("relu-kink")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_shards_merged_equal_the_whole_class(graded, tmp_path):
    parts = [tmp_path / f"part{k}.csv" for k in (1, 2)]
    results = [
        cli("grade", str(graded["folder"]), "--exercise", "backprop", "--shard", f"{k}/2", "--jobs", "1", "--seed", str(SEED),
            "--timeout", TIMEOUT, "--out", str(part), "--json", home=graded["home"])
        for k, part in zip((1, 2), parts)
    ]
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    outputs = [(r.stdout, r.stderr) for r in results]
    from tutor.classroom.submissions import shard_of

    seen = []
    for k, (out, _) in zip((1, 2), outputs):
        students = [json.loads(line)["student"] for line in out.splitlines()]
        assert students and all(shard_of(s, 2) == k for s in students)
        seen += students
    assert sorted(seen) == sorted(CLASS)  # disjoint parts that cover the class
    merged = tmp_path / "merged.csv"
    result = cli("grade", "merge", *map(str, parts), "--out", str(merged), home=graded["home"])
    assert result.returncode == 0, result.stderr
    assert without_seconds(merged) == without_seconds(graded["book"])
    # merging a part twice is refused
    again = cli("grade", "merge", str(parts[0]), str(merged), "--out", str(tmp_path / "x.csv"), home=graded["home"])
    assert again.returncode == 2 and "is in both" in again.stderr and "Traceback" not in again.stderr


def test_a_rerun_skips_graded_files_and_regrades_changed_ones(graded, tmp_path):
    folder = tmp_path / "submissions"
    shutil.copytree(graded["folder"], folder)
    book = tmp_path / "gradebook.csv"
    shutil.copy(graded["book"], book)
    before = book.read_bytes()
    result = cli("grade", str(folder), "-e", "backprop", "--seed", str(SEED), "--timeout", TIMEOUT, "--out", str(book), home=graded["home"])
    assert result.returncode == 0, result.stderr
    assert "graded 0 this run, skipped 10" in result.stdout
    assert book.read_bytes() == before  # nothing graded, nothing rewritten
    (folder / "carol" / "backprop.py").write_text(SOLUTION)  # carol fixes her bug
    (folder / "ken" / "backprop.py").write_text(SOLUTION)  # ken hands in late
    result = cli("grade", str(folder), "-e", "backprop", "--timeout", TIMEOUT, "--out", str(book), home=graded["home"])
    assert result.returncode == 0, result.stderr
    assert "graded 2 this run, skipped 9" in result.stdout
    (backup,) = tmp_path.glob("gradebook.csv.bak-*")  # carol's earlier row is replaced: the gradebook before it is kept
    assert backup.read_bytes() == before and f"the gradebook as it was is kept as {backup}" in result.stderr
    after, old = rows(book), rows(graded["book"])
    assert after["carol"]["status"] == "done" and after["ken"]["status"] == "done"
    assert after["ken"]["seed"] == str(SEED)  # the seed comes from the gradebook when not given
    for student in set(CLASS) - {"carol", "ken"}:
        assert after[student] == old[student]


def _descendants(root: int) -> dict[int, str]:
    """pid -> command line of every process below ``root`` (the pool workers and the grading children)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found[child] = commands.get(child, "")
                frontier.append(child)
    return found


def _alive(pids: dict[int, str]) -> list[int]:
    alive = []
    for pid, command in pids.items():
        try:
            now = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if now == command and "(zombie)" not in now:
            alive.append(pid)
    return alive


@contextlib.contextmanager
def _grade_in_the_background(*args: str, home: Path) -> Iterator[subprocess.Popen]:
    """``dnn-tutor grade ARGS`` as its own process group (a terminal's job), killed if a test fails."""
    env = dict(os.environ, DNN_TUTOR_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "tutor", "grade", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def _ctrl_c(proc: subprocess.Popen, timeout: float) -> str:
    """What Ctrl-C in a terminal does (SIGINT to the whole process group); the program's stderr once it ends."""
    os.killpg(proc.pid, signal.SIGINT)
    return proc.communicate(timeout=timeout)[1]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_keeps_every_finished_row_and_leaves_no_process(tmp_path, tutor_home):
    home = tutor_home
    folder = tmp_path / "flat"  # a folder of <student>.py files
    folder.mkdir()
    for student in ("a1", "a2"):
        (folder / f"{student}.py").write_text(SOLUTION)
    for student in ("z1", "z2"):
        (folder / f"{student}.py").write_text(LOOP)
    book = tmp_path / "gradebook.csv"
    with _grade_in_the_background(str(folder), "-e", "backprop", "-j", "2", "--timeout", "120", "--out", str(book), home=home) as proc:
        deadline = time.monotonic() + 240
        below: dict[int, str] = {}
        while time.monotonic() < deadline:
            below = _descendants(proc.pid)
            running = [c for c in below.values() if "grading/worker.py" in c]
            if book.exists() and len(rows(book)) >= 2 and len(running) == 2:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        else:
            pytest.fail("the correct submissions were not graded in time")
        err = _ctrl_c(proc, timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    kept = rows(book)
    assert {s: r["status"] for s, r in kept.items()} == {"a1": "done", "a2": "done"}
    assert len(below) >= 4  # two pool workers, each grading a looping submission in its child
    server = {pid: cmd for pid, cmd in below.items() if "multiprocessing.forkserver" in cmd}
    assert server and not _alive(server), server  # ended with dnn-tutor, not seconds later on its own
    for _ in range(50):
        if not _alive(below):
            break
        time.sleep(0.1)
    assert _alive(below) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_while_the_fork_server_starts_leaves_it_ended_when_grade_exits(tmp_path, tutor_home):
    """Ctrl-C while the fork server still imported torch: grade exited, and the server lived on for seconds
    (it forked a worker asked for before the Ctrl-C after dnn-tutor had gone)."""
    folder = tmp_path / "flat"
    folder.mkdir()
    for student in ("a1", "a2"):
        (folder / f"{student}.py").write_text(SOLUTION)
    env = dict(os.environ, DNN_TUTOR_HOME=str(tutor_home))
    with open(tmp_path / "out.txt", "w") as out:  # files, not pipes: nothing waits for the server's end
        proc = subprocess.Popen([sys.executable, "-m", "tutor", "grade", str(folder), "-e", "backprop", "-j", "2",
                                 "--out", str(tmp_path / "g.csv")], stdout=out, stderr=out, env=env, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            server: dict[int, str] = {}
            while time.monotonic() < deadline and not server:
                server = {p: c for p, c in _descendants(proc.pid).items() if "multiprocessing.forkserver" in c}
                time.sleep(0.05)
            assert server, "the fork server never started"
            os.killpg(proc.pid, signal.SIGINT)
            assert proc.wait(timeout=60) == 130
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert _alive(server) == [], server


def test_odd_names_and_an_empty_file_grade_into_a_safe_gradebook(tmp_path, tutor_home):
    """A name that is not UTF-8 or starts like a spreadsheet formula, and an empty file: one clean gradebook."""
    folder = tmp_path / "flat"
    folder.mkdir()
    with open(os.path.join(os.fsencode(str(folder)), b"bad\xffname.py"), "w") as handle:
        handle.write(SOLUTION)
    (folder / "=SUM(A1).py").write_text(_planted(BIAS_MEAN))
    (folder / "empty.py").write_text("")
    book = tmp_path / "gradebook.csv"
    result = cli("grade", str(folder), "-e", "backprop", "-j", "1", "--seed", str(SEED), "--timeout", TIMEOUT, "--out", str(book), home=tutor_home)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    book_rows = rows(book)
    assert sorted(book_rows) == sorted(["bad\\xffname", "'=SUM(A1)", "empty"])
    assert book_rows["bad\\xffname"]["status"] == "done"
    assert book_rows["'=SUM(A1)"]["codes"].startswith("bias-averaged")
    assert book_rows["empty"]["status"] == "not started" and book_rows["empty"]["passed"] == "0"
    # the gradebook reads back with the real ids, and a rerun skips all three
    again = cli("grade", str(folder), "-e", "backprop", "-j", "1", "--timeout", TIMEOUT, "--out", str(book), home=tutor_home)
    assert again.returncode == 0, again.stderr
    assert "graded 0 this run, skipped 3" in again.stdout and "=SUM(A1)" in again.stdout


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_while_the_fork_server_loads_torch_is_one_line(tmp_path, tutor_home):
    """Ctrl-C reaches the fork server too, which spends its first seconds importing torch: it used to
    print that import's traceback on the teacher's terminal. It now starts with Ctrl-C ignored."""
    folder = tmp_path / "flat"
    folder.mkdir()
    for student in ("a1", "a2", "a3", "a4", "a5", "a6"):  # one worker grading six: still at it when Ctrl-C comes
        (folder / f"{student}.py").write_text(SOLUTION)
    with _grade_in_the_background(str(folder), "-e", "backprop", "-j", "1", "--out", str(tmp_path / "book.csv"),
                                  home=tutor_home) as proc:
        deadline = time.monotonic() + 120
        server = []
        while not server:
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            server = [pid for pid, command in _descendants(proc.pid).items() if "forkserver" in command]
            time.sleep(0.05)
        time.sleep(0.3)  # inside its `import torch`
        err = _ctrl_c(proc, timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "terminate called" not in err
    assert "interrupted" in err
    for _ in range(300):  # the server finishes its imports, sees that its parent is gone, and ends
        if not _alive({pid: command for pid, command in _descendants(1).items() if pid in server}):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the fork server outlived the run")
