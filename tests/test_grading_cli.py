"""The exercise commands: exercises, check (--json, --exercise, --watch), hint, init, reset."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from test_grading_helpers import SOLUTIONS, STARTERS, planted
from terminal_helpers import exit_code
from tutor.cli import app

IDS = ["backprop", "dropout", "batchnorm", "optimizers", "conv", "rnn", "lstm", "transfer"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exercises").mkdir()
    return tmp_path


def _copy_solution(workdir: Path, exercise: str = "backprop", name: str | None = None) -> Path:
    path = workdir / "exercises" / (name or f"{exercise}.py")
    path.write_text((SOLUTIONS / f"{exercise}.py").read_text())
    return path


@pytest.mark.slow
def test_check_passing_exits_0_and_records_the_attempt(runner, workdir):
    path = _copy_solution(workdir)
    result = runner.invoke(app, ["check", str(path), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "15/15 checks" in result.output
    from tutor.store import Store

    with Store() as store:
        best = store.best_attempts()
    assert best["backprop"].passed == best["backprop"].total == 15


def test_check_reads_the_exercise_id_from_the_file_name_in_any_case(runner, workdir):
    """`check n/Backprop.py` exited 2 ("the file name is not an exercise id") while `backprop.PY` was graded."""
    from tutor.grading import catalogue

    path = _copy_solution(workdir, name="Backprop.py")
    result = runner.invoke(app, ["check", str(path), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "15/15 checks" in result.output
    assert [catalogue.for_file(Path(name)).id for name in ("BACKPROP.PY", "Lstm.py", "conv")] == ["backprop", "lstm", "conv"]


def test_check_failing_exits_1_with_the_diagnosis(runner, workdir, tmp_path):
    path = planted(workdir / "exercises", "backprop", ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    result = runner.invoke(app, ["check", str(path), "--seed", "3"])
    assert result.exit_code == 1
    assert "averaged over the batch" in result.output
    assert "/15 checks" in result.output


@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize("solution, code", [(False, 1), (True, 0)])
def test_a_reader_that_goes_away_keeps_the_checks_verdict(runner, workdir, monkeypatch, as_json, solution, code):
    """`check f | reader` with a reader that stops early: the exit code is still the verdict (a closed
    pipe ends a listing command with 0, which here would turn a failed check into a pass)."""
    import tutor.commands.exercises as exercises_command
    from tutor import console

    def gone(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(console, "out", gone)
    monkeypatch.setattr(exercises_command, "emit_json", gone)
    if solution:
        path = _copy_solution(workdir)
    else:
        path = planted(workdir / "exercises", "backprop", ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    result = runner.invoke(app, ["check", str(path), "--seed", "3", *(["--json"] if as_json else [])])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def test_a_reader_that_goes_away_keeps_doctors_verdict(runner, monkeypatch):
    from tutor import console
    from tutor.commands import core

    def gone(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    class Report:
        ok = False

        def to_dict(self):
            return {"ok": False}

    monkeypatch.setattr(console, "out", gone)
    monkeypatch.setattr(core, "emit_json", gone)
    monkeypatch.setattr("tutor.doctor.gather", lambda device, repair=False: Report())
    monkeypatch.setattr("tutor.render.progress.render_doctor", lambda report: "damaged")
    for args in (["doctor"], ["doctor", "--json"]):
        assert runner.invoke(app, args).exit_code == 1, args


def test_check_json_schema(runner, workdir):
    path = _copy_solution(workdir, name="mine.py")
    result = runner.invoke(app, ["check", str(path), "--exercise", "backprop", "--json", "--seed", "5"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("exercise", "file", "file_sha256", "seed", "passed", "total", "status", "ok", "fatal", "checks", "codes", "output"):
        assert key in data
    assert data["exercise"] == "backprop" and data["seed"] == 5 and data["status"] == "done"
    check = data["checks"][0]
    for key in ("id", "function", "title", "passed", "error", "threshold", "message", "code", "case", "worst"):
        assert key in check
    assert len(data["file_sha256"]) == 64


def test_check_json_for_a_fatal_run(runner, workdir):
    path = workdir / "exercises" / "backprop.py"
    path.write_text("import sys\nsys.exit(2)\n")
    result = runner.invoke(app, ["check", str(path), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["fatal"]["kind"] == "exit" and data["ok"] is False


def test_file_name_not_an_exercise_is_a_usage_error(runner, workdir):
    path = _copy_solution(workdir, name="mine.py")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "--exercise" in result.output and "backprop" in result.output


def test_unknown_exercise_lists_valid_ids(runner, workdir):
    path = _copy_solution(workdir)
    for args in (["check", str(path), "--exercise", "nope"], ["hint", "nope"], ["reset", "nope", "--yes"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "unknown exercise 'nope'" in lines[0]
        for exercise_id in IDS:
            assert exercise_id in lines[0]


def test_missing_file_is_a_one_line_error(runner, workdir):
    result = runner.invoke(app, ["check", "exercises/backprop.py"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no such file" in lines[0]


def test_failed_check_brings_the_quiz_question_forward(runner, workdir):
    from tutor.grading import catalogue
    from tutor.store import Store

    question = catalogue.find("rnn").concepts["bptt-carry"]
    bug = planted(workdir / "exercises", "rnn", ("rnn_step_backward(dh[:, step] + dnext, caches[step])", "rnn_step_backward(dh[:, step], caches[step])"))
    result = runner.invoke(app, ["check", str(bug), "--seed", "2", "--json"])
    data = json.loads(result.stdout)
    assert data["codes"][0] == "bptt-carry"
    if data["quiz_scheduled"] is None:
        pytest.skip("the quiz does not know the mapped question on this checkout")
    with Store() as store:
        assert question in store.cards()


@pytest.mark.slow
def test_exercises_table_shows_status(runner, workdir):
    result = runner.invoke(app, ["exercises", "--json"])
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert list(rows) == IDS
    assert all(row["status"] == "not started" for row in rows.values())
    assert rows["backprop"]["lesson"] == 2 and rows["transfer"]["lesson"] == 7
    runner.invoke(app, ["check", str(_copy_solution(workdir)), "--seed", "1"])
    bug = planted(workdir / "exercises", "dropout", ("    scale = keep / (1.0 - p)  # same shape as x", "    scale = keep * 1.0"))
    runner.invoke(app, ["check", str(bug), "--seed", "1"])
    rows = {row["id"]: row for row in json.loads(runner.invoke(app, ["exercises", "--json"]).stdout)}
    assert rows["backprop"]["status"] == "done"
    assert rows["dropout"]["status"] == "5 of 7 checks"
    table = runner.invoke(app, ["exercises"]).output
    assert "done" in table and "5 of 7 checks" in table and "not started" in table


@pytest.mark.slow
def test_hint_ladder_and_tailored_hint(runner, workdir):
    from tutor.grading import catalogue

    info = catalogue.find("backprop")
    first = runner.invoke(app, ["hint", "backprop"])
    assert first.exit_code == 0 and "hint 1/" in first.output
    second = runner.invoke(app, ["hint", "backprop"])
    assert "hint 2/" in second.output
    # A failing check with a known code: the next hint is about that mistake.
    bug = planted(workdir / "exercises", "backprop", ("    dlogits /= n\n", ""))
    runner.invoke(app, ["check", str(bug), "--seed", "2"])
    tailored = runner.invoke(app, ["hint", "backprop"])
    assert "batch-mean" in tailored.output
    assert info.tailored["batch-mean"].split()[0] in tailored.output
    # A new mistake starts the general ladder again from its first step.
    assert "hint 1/" in runner.invoke(app, ["hint", "backprop"]).output
    for _ in range(len(info.hints)):
        last = runner.invoke(app, ["hint", "backprop"])
    assert f"hint {len(info.hints)}/{len(info.hints)}" in last.output and "last hint" in last.output
    assert "hint 1/" in runner.invoke(app, ["hint", "backprop", "--restart"]).output


def test_after_a_check_that_passed_everything_a_hint_says_so_and_the_exercise_table_keeps_the_best(runner, workdir):
    """A 15/15 check, then `hint` handed out ladder hints as if something failed; a later 11/15 check left the
    table saying only "done", though the file now fails four checks."""
    path = _copy_solution(workdir)
    assert runner.invoke(app, ["check", str(path), "--seed", "2"]).exit_code == 0
    hinted = runner.invoke(app, ["hint", "backprop"])
    assert "passed every check" in hinted.output and "hint 1/" in hinted.output
    path.write_text(path.read_text().replace("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    assert runner.invoke(app, ["check", str(path), "--seed", "2"]).exit_code == 1
    assert "passed every check" not in runner.invoke(app, ["hint", "backprop"]).output
    rows = {r["id"]: r for r in json.loads(runner.invoke(app, ["exercises", "--json"]).stdout)}
    assert rows["backprop"]["status"] == "done" and (rows["backprop"]["last_passed"], rows["backprop"]["last_total"]) == (11, 15)
    assert rows["dropout"]["last_passed"] is None
    assert "done, now 11/15" in runner.invoke(app, ["exercises"]).output


def test_catalogue_hints_do_not_paste_solutions():
    from tutor.grading import catalogue

    for info in catalogue.load().values():
        solution = (SOLUTIONS / info.file).read_text()
        code_lines = set()
        for line in solution.splitlines():
            line = line.split("  #")[0].strip()
            if not line or line.startswith(("#", '"""', "def ", "import ", "from ")):
                continue
            for part in (line, line.removeprefix("return ").strip(), line.split(" = ", 1)[-1].strip()):
                if len(part) > 20:
                    code_lines.add(part)
        for text in list(info.hints) + list(info.tailored.values()):
            for line in code_lines:
                assert line not in text, f"{info.id}: a hint contains the solution line {line!r}"


def test_init_copies_starters_and_never_overwrites(runner, tmp_path):
    target = tmp_path / "course"
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"{len(IDS)} starters copied into" in said and "already there" not in said and "overwritten" not in said
    for exercise_id in IDS:
        copied = target / "exercises" / f"{exercise_id}.py"
        assert copied.read_text() == (STARTERS / f"{exercise_id}.py").read_text()
    mine = target / "exercises" / "backprop.py"
    mine.write_text("# my work\n")
    again = runner.invoke(app, ["init", str(target)])
    assert again.exit_code == 0
    assert mine.read_text() == "# my work\n"
    said = " ".join(again.output.split())
    assert "kept" in said and f"0 starters copied into {target / 'exercises'}; {len(IDS)} files already there were left untouched." in said
    (target / "exercises" / "lstm.py").unlink()
    said = " ".join(runner.invoke(app, ["init", str(target)]).output.split())
    assert f"1 starter copied into {target / 'exercises'}; {len(IDS) - 1} files already there were left untouched." in said


def test_init_defaults_to_the_current_folder(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert (tmp_path / "exercises" / "lstm.py").exists()


def test_reset_keeps_a_backup(runner, workdir):
    mine = workdir / "exercises" / "backprop.py"
    mine.write_text("# my precious attempt\n")
    result = runner.invoke(app, ["reset", "backprop", "--yes"])
    assert result.exit_code == 0, result.output
    assert mine.read_text() == (STARTERS / "backprop.py").read_text()
    backups = list((workdir / "exercises" / ".backups").glob("backprop-*.py"))
    assert len(backups) == 1 and backups[0].read_text() == "# my precious attempt\n"
    assert str(backups[0]) in result.output.replace("\n", "")


def test_no_such_file_says_where_init_put_the_exercises(runner, tmp_path, monkeypatch):
    """After `init ~/course`, `check exercises/backprop.py` from another folder told the learner to run init again."""
    assert runner.invoke(app, ["init", str(tmp_path / "course")]).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = runner.invoke(app, ["check", "exercises/backprop.py"])
    assert result.exit_code == 2
    assert f"did you mean `dnn-tutor check {tmp_path / 'course' / 'exercises' / 'backprop.py'}`" in result.stderr
    assert "init" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    # a second workspace: the one holding the learner's own work is named, not the newer starters
    (tmp_path / "course" / "exercises" / "lstm.py").write_text("# my work\n")
    assert runner.invoke(app, ["init", str(tmp_path / "second")]).exit_code == 0
    said = runner.invoke(app, ["check", "exercises/lstm.py"]).stderr
    assert str(tmp_path / "course" / "exercises" / "lstm.py") in said, said
    # inside exercises/, and an exercise id for a file
    monkeypatch.chdir(tmp_path / "course" / "exercises")
    assert "did you mean `dnn-tutor check lstm.py`" in runner.invoke(app, ["check", "exercises/lstm.py"]).stderr
    monkeypatch.chdir(tmp_path / "course")
    assert "did you mean `dnn-tutor check exercises/backprop.py`" in runner.invoke(app, ["check", "backprop"]).stderr


def test_reset_of_an_untouched_starter_asks_nothing_and_makes_no_backup(runner, workdir):
    """`reset --yes` on a file that is still the starter wrote a backup identical to the starter."""
    starter = workdir / "exercises" / "backprop.py"
    starter.write_bytes((STARTERS / "backprop.py").read_bytes())
    for args in (["reset", "backprop", "--yes"], ["reset", "backprop"]):  # no question either (off a terminal too)
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "already holds the starter" in " ".join(result.output.split())  # (a long path wraps the line)
    assert not (workdir / "exercises" / ".backups").exists()


def test_reset_with_file_option(runner, workdir):
    other = workdir / "elsewhere.py"
    other.write_text("x = 1\n")
    assert runner.invoke(app, ["reset", "rnn", "--file", str(other), "--yes"]).exit_code == 0
    assert other.read_text() == (STARTERS / "rnn.py").read_text()
    assert list((workdir / ".backups").glob("elsewhere-*.py"))


def test_reset_without_yes_off_a_terminal_refuses(runner, workdir):
    mine = workdir / "exercises" / "backprop.py"
    mine.write_text("# mine\n")
    result = runner.invoke(app, ["reset", "backprop"], input="y\n")
    assert result.exit_code == 2
    assert "--yes" in result.output
    assert mine.read_text() == "# mine\n"


def test_watch_loop_regrades_only_for_the_target():
    from tutor.commands.exercises import watch_loop

    calls = []
    target = Path(__file__)
    events = [{(2, "/elsewhere/other.py")}, {(2, str(target))}, {(1, str(target))}]
    code = watch_loop(lambda: calls.append(1) or len(calls), iter(events), target)
    assert len(calls) == 3 and code == 3
    calls.clear()
    watch_loop(lambda: calls.append(1) or 0, iter(events), target, max_runs=2)
    assert len(calls) == 2


def test_watch_loop_counts_a_link_put_in_the_files_place_as_a_change(tmp_path):
    """rm backprop.py; ln -s other.py backprop.py: the event names the link, which resolves elsewhere; the
    old report stayed on screen as current."""
    from tutor.commands.exercises import watch_loop

    target, other = tmp_path / "backprop.py", tmp_path / "other.py"
    target.write_text("x = 1\n")
    other.write_text("x = 2\n")
    calls = []

    def events():
        target.unlink()
        target.symlink_to(other)
        yield {(3, str(target)), (1, str(target))}
        yield {(2, str(target))}

    watch_loop(lambda: calls.append(target.read_text()) or 0, events(), target)
    assert calls == ["x = 1\n", "x = 2\n", "x = 2\n"]  # the first run, the link in its place, a change through it


def test_watch_survives_the_folder_it_runs_in_being_made_again(runner, tmp_path, monkeypatch):
    """`cd wx && check backprop.py --watch`, then wx removed and made again: the relative name no longer
    meant anything ('no such file or folder', exit 1). The file is watched by its absolute name."""
    import watchfiles

    work = tmp_path / "wx"
    work.mkdir()
    (work / "backprop.py").write_text((SOLUTIONS / "backprop.py").read_text())
    monkeypatch.chdir(work)
    seen = []

    def remade(paths, **kwargs):
        import shutil

        seen.append(str(paths))
        shutil.rmtree(work)
        work.mkdir()
        (work / "backprop.py").write_text((SOLUTIONS / "backprop.py").read_text())
        yield {(1, str(work / "backprop.py"))}

    monkeypatch.setattr(watchfiles, "watch", remade)
    result = runner.invoke(app, ["check", "backprop.py", "--watch", "--max-runs", "2", "--seed", "4", "--json"])
    assert result.exit_code == 0, result.output
    runs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in runs] == ["done", "done"]


def test_watch_goes_on_when_the_file_or_its_folder_goes_and_comes_back(tmp_path):
    """`rm -rf exercises && dnn-tutor init .` took the watch with the folder: the watcher said nothing
    and never graded again. It now says the file is gone, watches the new folder, and grades again."""
    import shutil

    from tutor.commands.exercises import watch_loop

    folder = tmp_path / "exercises"
    folder.mkdir()
    target = folder / "backprop.py"
    target.write_text("x = 1\n")
    calls, said = [], []

    def first_watch():
        target.unlink()
        yield {(3, str(target))}  # the file went
        shutil.rmtree(folder)
        yield set()  # a timeout: the loop sees the folder gone
        raise AssertionError("the old watch must not be used again")

    def comes_back():  # as `init` would, but in one step: the folder appears with the file in it
        time.sleep(0.3)
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        (fresh / target.name).write_text("x = 2\n")
        fresh.rename(folder)

    threading.Thread(target=comes_back, daemon=True).start()
    restarted = []

    def restart():
        restarted.append(1)
        return iter([{(2, str(target))}])

    watch_loop(lambda: calls.append(target.read_text()) or 0, first_watch(), target, restart=restart,
               say=said.append, poll=0.05)
    assert calls == ["x = 1\n", "x = 2\n", "x = 2\n"]  # first run; back again; its change
    assert restarted == [1]
    assert len(said) == 1 and "is gone" in said[0]


def test_watch_goes_on_when_the_watcher_fails_and_grades_a_save_it_missed(tmp_path):
    """`mkdir $'\\xff'` beside the file ended `check --watch` with "internal error (WatchfilesRustInternalError:
    Unable to decode path ...)". The watch now says so once, watches again, and grades a save made meanwhile."""
    from tutor.commands.exercises import watch_loop

    target = tmp_path / "backprop.py"
    target.write_text("x = 1\n")
    calls, said = [], []

    def failing():
        target.write_text("x = 2\n")  # saved while the watcher breaks: its event is lost with it
        raise RuntimeError('Unable to decode path "/x/\\xFF" to string')
        yield  # pragma: no cover

    def restart():
        return iter([set(), set()])

    watch_loop(lambda: calls.append(target.read_text()) or 0, failing(), target, restart=restart, say=said.append, poll=0.01)
    assert calls == ["x = 1\n", "x = 2\n"]
    assert len(said) == 1 and "watching it again" in said[0] and "decode" in said[0]


@pytest.mark.slow
def test_check_watch_keeps_going_beside_a_folder_whose_name_is_not_utf8(runner, workdir):
    """The real watcher, the real failure: a folder named b'\\xff\\xfe' appears beside the file, then the fix is saved."""
    path = planted(workdir / "exercises", "backprop", ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    finished = threading.Event()

    def break_then_fix():
        from tutor.store import Store

        while not finished.is_set():
            with Store() as store:
                graded = bool(store.attempts("backprop"))
            if graded:
                os.makedirs(os.fsencode(path.parent) + b"/\xff\xfe", exist_ok=True)
                time.sleep(0.5)
                path.write_text((SOLUTIONS / "backprop.py").read_text())
            finished.wait(1.0)

    saver = threading.Thread(target=break_then_fix, daemon=True)
    saver.start()
    try:
        result = runner.invoke(app, ["check", str(path), "--watch", "--max-runs", "2", "--seed", "4"])
    finally:
        finished.set()
        saver.join()
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    assert "15/15 checks" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("as_json", [False, True])
def test_check_watch_regrades_on_save(runner, workdir, as_json):
    """With --json, one JSON document per line and run (JSON Lines), so a watch session can be read."""
    path = planted(workdir / "exercises", "backprop", ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))

    finished = threading.Event()

    def fix_it_once_graded():
        # Save the fix after the first run is recorded, and keep saving it (as an editor would)
        # so a save that lands before the watcher starts cannot leave the test waiting.
        from tutor.store import Store

        while not finished.is_set():
            with Store() as store:
                graded = bool(store.attempts("backprop"))
            if graded:
                path.write_text((SOLUTIONS / "backprop.py").read_text())
            finished.wait(1.0)

    saver = threading.Thread(target=fix_it_once_graded, daemon=True)
    saver.start()
    try:
        result = runner.invoke(app, ["check", str(path), "--watch", "--max-runs", "2", "--seed", "4", *(["--json"] if as_json else [])])
    finally:
        finished.set()
        saver.join()
    assert result.exit_code == 0, result.output
    if as_json:
        runs = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["status"] for r in runs] == ["11 of 15 checks", "done"], runs
        return
    assert "averaged over the batch" in result.output  # the first run
    assert "15/15 checks" in result.output  # the run after the save


def test_watch_ctrl_c_exits_130(runner, workdir, monkeypatch):
    import watchfiles

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
        yield  # pragma: no cover

    monkeypatch.setattr(watchfiles, "watch", interrupted)
    path = _copy_solution(workdir)
    result = runner.invoke(app, ["check", str(path), "--watch", "--seed", "1"])
    assert result.exit_code == 130
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_check_does_not_import_torch_for_listing(runner):
    import subprocess
    import sys

    probe = "import sys; from typer.testing import CliRunner; from tutor.cli import app; CliRunner().invoke(app, ['exercises']); CliRunner().invoke(app, ['hint', 'rnn']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False")


def _spawn(args, cwd, env_home, **extra_env):
    import os
    import shutil
    import sys

    pexpect = pytest.importorskip("pexpect")
    exe = shutil.which("dnn-tutor", path=str(Path(sys.executable).parent)) or "dnn-tutor"
    env = dict(os.environ, DNN_TUTOR_HOME=str(env_home), COLUMNS="100", NO_COLOR="1", **extra_env)
    return pexpect.spawn(exe, args, cwd=str(cwd), env=env, encoding="utf-8", timeout=60, dimensions=(40, 100))


@pytest.mark.slow
def test_reset_in_a_terminal_asks_first(workdir, tutor_home):
    mine = workdir / "exercises" / "lstm.py"
    mine.write_text("# mine\n")
    child = _spawn(["reset", "lstm"], workdir, tutor_home)
    child.expect("Restore the starter")
    child.sendline("n")
    child.expect(__import__("pexpect").EOF)
    child.close()
    assert mine.read_text() == "# mine\n"
    child = _spawn(["reset", "lstm"], workdir, tutor_home)
    child.expect("Restore the starter")
    child.sendline("y")
    child.expect("kept at")
    child.expect(__import__("pexpect").EOF)
    code = exit_code(child)
    assert code == 0
    assert mine.read_text() == (STARTERS / "lstm.py").read_text()


@pytest.mark.slow
def test_ctrl_c_during_a_check_stops_the_child(workdir, tutor_home):
    import os

    from test_grading_helpers import descendants, worker_pids

    path = workdir / "exercises" / "backprop.py"
    path.write_text("import time\n\nwhile True:  # never ends (it waits rather than spins, to leave the cores to others)\n    time.sleep(0.05)\n")
    child = _spawn(["check", str(path), "--timeout", "60"], workdir, tutor_home)
    deadline = time.monotonic() + 30
    while not worker_pids(child.pid):
        assert time.monotonic() < deadline, "the grading child never started"
        time.sleep(0.1)
    time.sleep(1.0)  # well inside the learner's loop
    tree = descendants(child.pid)
    assert tree
    child.sendintr()
    child.expect(__import__("pexpect").EOF, timeout=20)
    code = exit_code(child)
    assert code == 130, (child.signalstatus, child.before)
    time.sleep(0.2)
    for pid in tree:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_hint_survives_a_corrupt_state_file(runner, tutor_home):
    (tutor_home / "exercise-hints.json").write_text("{not json")
    result = runner.invoke(app, ["hint", "lstm"])
    assert result.exit_code == 0 and "hint 1/" in result.output
    assert "hint 2/" in runner.invoke(app, ["hint", "lstm"]).output  # the ladder position is kept


def test_init_refuses_when_exercises_is_a_file(runner, tmp_path):
    (tmp_path / "exercises").write_text("not a folder")
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2 and "not a folder" in result.output


@pytest.mark.slow
def test_timeout_option_stops_an_infinite_loop(runner, workdir):
    path = workdir / "exercises" / "rnn.py"
    path.write_text("def rnn_step_forward(*args):\n    while True:\n        pass\n")
    started = time.monotonic()
    result = runner.invoke(app, ["check", str(path), "--timeout", "0.5"])
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    assert "no answer within 0.5 s while running rnn_step_forward()" in result.output.replace("\n", " ").replace("  ", " ")


# ---------------------------------------------------------------- the workspace


def test_check_refuses_the_shipped_starters(runner, monkeypatch):
    from test_grading_helpers import REPO

    monkeypatch.chdir(REPO)
    before = (STARTERS / "backprop.py").read_bytes()
    result = runner.invoke(app, ["check", "exercises/backprop.py"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "dnn-tutor init DIR" in lines[0]
    assert (STARTERS / "backprop.py").read_bytes() == before


def test_reset_in_a_clone_root_refuses_without_touching_the_starter(runner, monkeypatch):
    from test_grading_helpers import REPO

    monkeypatch.chdir(REPO)
    backups = STARTERS / ".backups"
    had_backups = backups.exists()
    before = (STARTERS / "backprop.py").read_bytes()
    result = runner.invoke(app, ["reset", "backprop", "--yes"])
    assert result.exit_code == 2
    assert "SameFileError" not in result.output and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "dnn-tutor init DIR" in lines[0]
    assert (STARTERS / "backprop.py").read_bytes() == before
    assert backups.exists() == had_backups


def test_reset_through_a_link_to_the_starter_is_refused(runner, workdir):
    link = workdir / "exercises" / "backprop.py"
    link.symlink_to(STARTERS / "backprop.py")
    result = runner.invoke(app, ["reset", "backprop", "--yes"])
    assert result.exit_code == 2 and "dnn-tutor init DIR" in result.stderr


def test_init_never_writes_through_a_link(runner, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text("# not yours to overwrite\n")
    (tmp_path / "course" / "exercises").mkdir(parents=True)
    (tmp_path / "course" / "exercises" / "rnn.py").symlink_to(outside)
    (tmp_path / "course" / "exercises" / "lstm.py").symlink_to(tmp_path / "dangling.py")
    result = runner.invoke(app, ["init", str(tmp_path / "course")])
    assert result.exit_code == 0, result.output
    assert outside.read_text() == "# not yours to overwrite\n"
    assert not (tmp_path / "dangling.py").exists()
    assert "not followed" in result.output
    linked_folder = tmp_path / "elsewhere"
    (linked_folder / "real").mkdir(parents=True)
    (linked_folder / "exercises").symlink_to(linked_folder / "real")
    refused = runner.invoke(app, ["init", str(linked_folder)])
    assert refused.exit_code == 2 and "link" in refused.stderr
    assert not list((linked_folder / "real").iterdir())


def test_init_into_the_shipped_folder_is_refused(runner):
    from test_grading_helpers import REPO

    result = runner.invoke(app, ["init", str(REPO)])
    assert result.exit_code == 2 and "own exercise folder" in result.stderr


def test_init_that_fails_leaves_no_empty_files(runner, tmp_path, monkeypatch):
    import errno
    import os

    calls = {"n": 0}
    real_fsync = os.fsync

    def full_disk(fd):
        calls["n"] += 1
        if calls["n"] >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    result = runner.invoke(app, ["init", str(tmp_path / "course")])
    assert result.exit_code == 1
    assert "no space left" in result.stderr
    files = list((tmp_path / "course" / "exercises").iterdir())
    assert len(files) == 2  # the two starters written before the disk filled
    for path in files:
        assert path.read_bytes() == (STARTERS / path.name).read_bytes()


def test_watch_loop_redraws_between_runs():
    from tutor.commands.exercises import watch_loop

    events = []
    target = Path(__file__)
    batches = [{(2, str(target))}, {(2, str(target))}]
    watch_loop(lambda: events.append("grade") or 0, iter(batches), target, redraw=lambda: events.append("clear"))
    assert events == ["grade", "clear", "grade", "clear", "grade"]


@pytest.mark.slow
def test_watch_in_a_terminal_clears_the_screen_between_runs_and_stops_on_ctrl_c(workdir, tutor_home):
    pexpect = pytest.importorskip("pexpect")
    path = _copy_solution(workdir)
    child = _spawn(["check", str(path), "--watch", "--seed", "1"], workdir, tutor_home)
    child.expect("15/15 checks")
    text = path.read_text()
    for attempt in range(60):  # keep saving, as an editor would, until the watcher has started
        path.write_text(text + f"\n# saved {attempt}\n")
        try:
            child.expect("\x1b\\[2J", timeout=1)  # the screen is cleared before the next report
            break
        except pexpect.TIMEOUT:
            continue
    else:
        pytest.fail("the screen was never cleared")
    child.expect("15/15 checks", timeout=60)
    child.sendintr()  # Ctrl-C ends the watch: exit 130, no traceback
    child.expect(pexpect.EOF)
    code = exit_code(child)
    assert code == 130
    assert "Traceback" not in (child.before or "")


@pytest.mark.slow
def test_ctrl_c_at_the_reset_question_exits_130(workdir, tutor_home):
    pexpect = pytest.importorskip("pexpect")
    mine = workdir / "exercises" / "lstm.py"
    mine.write_text("# mine\n")
    child = _spawn(["reset", "lstm"], workdir, tutor_home)
    child.expect("Restore the starter")
    child.sendintr()
    child.expect(pexpect.EOF)
    code = exit_code(child)
    assert code == 130
    assert mine.read_text() == "# mine\n"


def test_init_suggests_a_next_command_that_runs_as_written(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    here = runner.invoke(app, ["init"])
    assert here.exit_code == 0 and "next: dnn-tutor check exercises/backprop.py" in here.output
    spaced = runner.invoke(app, ["init", "my course"])
    assert spaced.exit_code == 0 and "next: cd 'my course' && dnn-tutor check exercises/backprop.py" in spaced.output


def test_init_suggests_the_first_exercise_not_done_yet(runner, tmp_path, monkeypatch):
    """`init` suggested `check exercises/backprop.py` even once backprop was done."""
    from tutor.grading import catalogue
    from tutor.store import Store

    monkeypatch.chdir(tmp_path)
    with Store() as store:
        store.record_attempt("backprop", "h", 15, 15)
        store.record_attempt("dropout", "h", 3, 7)  # started, not done: still the one to carry on with
    assert "next: dnn-tutor check exercises/dropout.py" in runner.invoke(app, ["init", "a"]).output.replace("cd a && ", "")
    with Store() as store:
        for info in catalogue.load().values():
            store.record_attempt(info.id, "h", 9, 9)
    said = runner.invoke(app, ["init", "b"]).output
    assert "next: dnn-tutor exercises" in said and "check exercises/" not in said


def test_check_of_a_folder_says_it_is_a_folder(runner, workdir):
    result = runner.invoke(app, ["check", "exercises"])
    assert result.exit_code == 2
    assert "exercises is a folder: give the path of your exercise file" in result.output
    assert "Traceback" not in result.output


def test_a_stopped_run_gets_a_hint_about_why_it_stopped(runner, workdir):
    from tutor.grading import diagnoses, hints

    hints.record_check("backprop", ["timeout", "not-run"])
    result = runner.invoke(app, ["hint", "backprop"])
    assert result.exit_code == 0
    assert "(timeout)" in result.output
    assert diagnoses.hint("timeout").split(":")[0].split()[0] in result.output
    hints.record_check("backprop", ["not-run"])  # no advice about "not-run": the general ladder
    assert "hint 1/" in runner.invoke(app, ["hint", "backprop"]).output


def test_capped_prints_never_say_zero_more_lines():
    from rich.console import Console

    from tutor.render.grading import _output

    console = Console(width=60, record=True)
    console.print(_output("x" * 5000, True))
    console.print(_output("\n".join(str(i) for i in range(30)), False))
    text = console.export_text()
    assert "0 more lines" not in text
    assert "(the rest is not shown, output capped)" in text and "(15 more lines)" in text


@pytest.mark.parametrize("width", [60, 72])
def test_the_report_at_narrow_widths_cuts_nothing_off(width):
    from rich.console import Console

    from tutor.grading import catalogue
    from tutor.grading.model import CheckResult, Report
    from tutor.render.grading import render_report

    checks = (
        CheckResult("a", "maxpool2d_backward", "vs finite differences of your forward", True, 3.4e-11, 1e-6, "ok"),
        CheckResult("b", "conv2d_backward", "dx, dw, db vs PyTorch autograd", False, 0.71, 1e-7, "wrong", code="conv-stride-backward"),
    )
    report = Report("conv", "conv.py", "0", 2, checks, None, "", False, 0.0)
    console = Console(width=width, record=True, force_terminal=False)
    console.print(render_report(report, catalogue.find("conv")))
    text = console.export_text()
    for piece in ("maxpool2d_backward", "vs finite differences of your forward", "conv-stride-backward", "7.1e-01 / 1e-07", "dx, dw, db vs PyTorch autograd"):
        assert piece in text, f"{piece!r} cut at {width} columns:\n{text}"
    assert "…" not in text


def test_the_traceback_box_names_the_function_it_comes_from(runner, workdir):
    """The first failure listed (a wrong db, no traceback) is not the one the box shows (an exception in
    relu_forward): the box says whose code it is."""
    path = planted(workdir / "exercises", "backprop", ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"),
                   ("def relu_forward(x):", "def relu_forward(x):\n    raise ValueError('boom')\n"))
    result = runner.invoke(app, ["check", str(path), "--seed", "3"])
    assert result.exit_code == 1
    assert "where relu_forward failed (your code)" in result.output


@pytest.mark.slow
def test_reset_asks_plainly_in_a_dumb_terminal_and_needs_enter_elsewhere(workdir, tutor_home):
    """TERM=dumb was refused ("run it in a terminal") although it was one; elsewhere a "y" typed as part
    of another word restored at once. Now a plain y/N line, and the menu needs Enter."""
    pexpect = pytest.importorskip("pexpect")
    mine = workdir / "exercises" / "lstm.py"
    mine.write_text("# mine\n")
    child = _spawn(["reset", "lstm"], workdir, tutor_home, TERM="dumb")
    child.expect(r"Restore the starter\? \[y/N\]")
    child.sendline("no")
    child.expect(pexpect.EOF)
    assert exit_code(child) == 1 and mine.read_text() == "# mine\n"
    child = _spawn(["reset", "lstm"], workdir, tutor_home, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
    child.expect("Restore the starter")
    child.send("y")
    time.sleep(0.5)
    assert mine.read_text() == "# mine\n"  # not yet: Enter confirms
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    assert exit_code(child) == 1 and mine.read_text() == "# mine\n"  # Ctrl-D: no, nothing changed


@pytest.mark.slow
def test_a_numpy_exercise_that_imports_torch_says_so_and_the_gradebook_shows_it(runner, tmp_path, monkeypatch):
    """torch.autograd inside the learner's file got 15/15 'Well done!' with no word: the checks compare
    numbers and cannot tell derived ones from autograd's."""
    import json

    from tutor.cli import app
    from tutor.grading.engine import imports_torch

    assert imports_torch(b"import numpy as np\nimport torch.nn.functional as F\n")
    assert imports_torch(b"def f():\n    from torch import autograd\n")
    assert imports_torch(b"t = __import__('torch')\n")
    assert not imports_torch(b"import numpy as np\n# import torch\nname = 'torch'\n")
    assert not imports_torch(b"import numpy as np\nif __name__ == '__main__':\n    import torch  # a self-test\n")
    from types import SimpleNamespace

    from tutor.classroom.adapter import _nothing_written

    assert _nothing_written(SimpleNamespace(codes=["missing", "uses-torch"], passed=0))  # `import torch` alone is no work
    path = tmp_path / "backprop.py"
    path.write_text("import torch  # to compare, say\n" + (SOLUTIONS / "backprop.py").read_text())
    # one run, as `check` shows it and as `check --json` would write it (the learner's torch import costs a second)
    from tutor.grading import service

    records = []
    real = service.grade_and_record
    monkeypatch.setattr(service, "grade_and_record", lambda *args, **kwargs: records.append(real(*args, **kwargs)) or records[-1])
    result = runner.invoke(app, ["check", str(path), "--seed", "3"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "this file imports torch" in said and "Well done" not in said and "next:" not in said.lower()
    data = json.loads(json.dumps(records[0].to_dict()))  # what --json writes: emit_json(record.to_dict())
    assert data["uses_torch"] is True and data["codes"] == ["uses-torch"] and data["status"] == "done"
    plain = json.loads(runner.invoke(app, ["check", str(SOLUTIONS / "backprop.py"), "--seed", "3", "--json"]).stdout)
    assert plain["uses_torch"] is False and plain["codes"] == []


@pytest.mark.slow
def test_torch_imported_by_any_route_is_flagged_and_a_self_test_either_way_round_is_not(runner, tmp_path):
    """`importlib.import_module("to" + "rch")`, `exec("import torch")`, a helper module that imports it, or
    `if __name__ != "__main__": import torch` all got 15/15 with no word: the file's text was all that was read.
    The run is now watched too: libtorch mapped into the child cannot be hidden. `"__main__" == __name__`
    is a self-test like `__name__ == "__main__"`, and no longer flagged."""
    from tutor.grading.engine import imports_torch

    assert imports_torch(b"if __name__ != '__main__':\n    import torch\n")
    assert not imports_torch(b"if '__main__' == __name__:\n    import torch\n")
    (tmp_path / "helper_t.py").write_text("import importlib\nimportlib.import_module('to' + 'rch')\n")
    path = tmp_path / "backprop.py"
    path.write_text("import helper_t  # torch, out of sight\n" + (SOLUTIONS / "backprop.py").read_text())
    data = json.loads(runner.invoke(app, ["check", str(path), "--seed", "3", "--json", "--no-record"]).stdout)
    assert data["status"] == "done" and data["uses_torch"] is True and data["codes"] == ["uses-torch"]


def test_check_no_record_keeps_nothing_in_the_progress(runner, workdir):
    """A teacher reproducing a student's row with `check --seed` recorded an attempt, a quiz card and hint
    state in their own progress."""
    from tutor.store import Store

    bug = planted(workdir / "exercises", "backprop", ("    dlogits /= n\n", ""))
    result = runner.invoke(app, ["check", str(bug), "--seed", "2", "--json", "--no-record"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["recorded"] is False and data["saved"] is False and data["quiz_scheduled"] is None
    with Store() as store:
        assert store.attempts() == [] and store.cards() == {} and store.hint_state("backprop") == {}
    recorded = json.loads(runner.invoke(app, ["check", str(bug), "--seed", "2", "--json"]).stdout)
    assert recorded["recorded"] is True
