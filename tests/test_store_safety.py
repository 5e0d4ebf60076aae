"""The store tells trouble from damage: a full disk, a read-only file, a lock, an old schema stamp,
a dropped table or a damaged page never wipes progress; only a file that is verifiably not a
database is moved aside. Each case checks that the learner's progress is intact afterwards."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest

from tutor import store_file
from tutor import store_schema as store_module
from tutor.errors import StoreError
from tutor.store import SCHEMA_VERSION, Store


def _fill(path: Path) -> None:
    """A learner with some of everything."""
    with Store(path) as store:
        store.mark_section_read("deep-networks", 1, 3)
        store.mark_section_read("deep-networks", 2, 3)
        store.record_attempt("backprop", "h1", 7, 15)
        for i in range(40):
            store.record_review(f"q{i}", "answer", i % 2 == 0, {"stability": float(i)}, "2030-01-01T00:00:00+00:00")
        store.record_demo_run("xor", {"lr": 0.1}, {"acc": 0.99}, "cpu", 1.5)
        store.set_hint_state("backprop", {"position": 2, "codes": ["db-not-summed"], "tailored_shown": []})


def _assert_intact(path: Path) -> None:
    with Store(path) as store:
        assert {1, 2} <= store.sections_read()["deep-networks"]
        assert [a.passed for a in store.attempts("backprop")][:1] == [7]
        assert len(store.reviews()) >= 40
        assert [r.demo_id for r in store.demo_runs()] == ["xor"]
        assert store.hint_state("backprop")["position"] == 2


def _sql(path: Path, *statements: str) -> None:
    """Change the database behind the store's back, as damage or an old version would."""
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _aside(folder: Path) -> list[Path]:
    return sorted(folder.glob("progress.db.corrupt-*"))


# -- full disk ---------------------------------------------------------------------------
def test_full_database_keeps_the_result_and_adds_it_on_the_next_run(tmp_path):
    path = tmp_path / "progress.db"
    _fill(path)
    store = Store(path)
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite now answers SQLITE_FULL
    big = "x" * 50_000
    with pytest.raises(StoreError) as caught:
        store.record_review("q-full", big, True, {"s": 1}, "2030-01-01T00:00:00+00:00")
    message = caught.value.message
    assert "could not save your answer to quiz question q-full" in message
    assert "disk is full" in message and "progress.db.pending" in message
    assert "\n" not in message and caught.value.exit_code == 1
    store.close()
    assert not _aside(tmp_path), "a full disk is not corruption"
    _assert_intact(path)  # opening again adds the kept answer
    with Store(path) as store:
        assert [r.answer for r in store.reviews("q-full")] == [big[:9_999] + "…"]  # kept as an export carries it
        assert not (tmp_path / "progress.db.pending").exists()


def _mount_tmpfs(folder: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    if not _mount_tmpfs(folder, "2m"):
        pytest.skip("needs root and mount to make a small tmpfs")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_really_full_disk_never_moves_the_database_aside(small_disk):
    path = small_disk / "progress.db"
    _fill(path)
    filler = small_disk / "filler"
    with open(filler, "wb") as handle:  # take every free byte
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    errors = []
    for i in range(30):  # enough to need new pages
        try:
            with Store(path) as store:
                store.record_demo_run("xor", {"i": i, "pad": "y" * 4000}, {"acc": 0.5}, "cpu", 0.1)
        except StoreError as exc:
            errors.append(exc.message)
            break
    assert errors, "the disk never filled up"
    assert "disk is full" in errors[0] or "NOT saved" in errors[0]
    assert "xor run" in errors[0]
    assert not _aside(small_disk)
    filler.unlink()
    _assert_intact(path)


# -- read-only -------------------------------------------------------------------------
def test_read_only_open_reads_with_one_warning_and_refuses_writes(tmp_path):
    path = tmp_path / "progress.db"
    _fill(path)
    before = path.read_bytes()
    with Store(path, read_only=True) as store:
        assert store.read_only
        assert store.sections_read()["deep-networks"] == {1, 2}
        with pytest.raises(StoreError, match="could not save section 3 of lesson deep-networks"):
            store.mark_section_read("deep-networks", 3, 3)
    assert path.read_bytes() == before
    _assert_intact(path)  # and the section kept aside is added by the first run that can write
    with Store(path) as store:
        assert store.sections_read()["deep-networks"] == {1, 2, 3}


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_read_only_file_by_permissions(tmp_path):
    path = tmp_path / "progress.db"
    _fill(path)
    for p in tmp_path.iterdir():
        p.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        seen: list[str] = []
        with Store(path, on_warning=seen.append) as store:
            assert store.read_only and len(seen) == 1 and "read-only" in seen[0]
            assert store.lessons_completed() == {}
            assert store.sections_read()["deep-networks"] == {1, 2}
            with pytest.raises(StoreError, match="NOT saved|kept in"):
                store.record_attempt("backprop", "h9", 15, 15)
    finally:
        tmp_path.chmod(0o755)
        for p in tmp_path.iterdir():
            p.chmod(0o644)
    assert not _aside(tmp_path)
    _assert_intact(path)


@pytest.fixture
def read_only_disk(tmp_path):
    folder = tmp_path / f"ro-{uuid.uuid4().hex[:6]}"
    if not _mount_tmpfs(folder, "8m"):
        pytest.skip("needs root and mount to make a read-only file system")
    _fill(folder / "progress.db")
    if subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True).returncode:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        pytest.skip("cannot remount read-only")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.slow
def test_read_only_file_system(read_only_disk, runner, monkeypatch):
    path = read_only_disk / "progress.db"
    seen: list[str] = []
    with Store(path, on_warning=seen.append) as store:
        assert store.read_only
        assert len(seen) == 1 and "read-only" in seen[0] and "nothing new can be saved" in seen[0]
        assert store.sections_read()["deep-networks"] == {1, 2}
        assert store.hint_state("backprop")["position"] == 2
        with pytest.raises(StoreError) as caught:
            store.record_attempt("backprop", "h9", 15, 15)
    assert "your check of backprop (15 of 15 checks)" in caught.value.message
    assert "NOT saved" in caught.value.message  # not even the pending file could be written: say so
    # the commands: reading works with one warning, a write is one line and exit 1
    from tutor.cli import app

    monkeypatch.setenv("DNN_TUTOR_HOME", str(read_only_disk))
    shown = runner.invoke(app, ["progress", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["lessons"][0]["sections_read"] == [1, 2]
    assert shown.stderr.count("warning:") == 1
    monkeypatch.setattr("tutor.console.stdout_is_terminal", lambda: True)  # read on a screen: a section to record
    wrote = runner.invoke(app, ["lesson", "1", "--section", "3"])
    assert wrote.exit_code == 1
    assert wrote.stderr.count("error:") == 1 and "Traceback" not in wrote.output


def _read_only_mount(tmp_path, prepare) -> Path:
    folder = tmp_path / f"ro-{uuid.uuid4().hex[:6]}"
    if not _mount_tmpfs(folder, "8m"):
        pytest.skip("needs root and mount to make a read-only file system")
    prepare(folder)
    if subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True).returncode:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        pytest.skip("cannot remount read-only")
    return folder


def test_read_only_rollback_journal_database(tmp_path):
    def prepare(folder):
        _fill(folder / "progress.db")
        conn = sqlite3.connect(folder / "progress.db")
        conn.execute("PRAGMA journal_mode = DELETE")  # an older, non-WAL file
        conn.close()

    folder = _read_only_mount(tmp_path, prepare)
    try:
        seen: list[str] = []
        with Store(folder / "progress.db", on_warning=seen.append) as store:
            assert store.read_only and len(seen) == 1
            assert store.sections_read()["deep-networks"] == {1, 2}
            assert len(store.cards()) == 40
        assert not _aside(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.slow
def test_a_read_only_home_without_a_database_still_lists_lessons(tmp_path, runner, monkeypatch, fixture_course):
    from tutor.cli import app

    folder = _read_only_mount(tmp_path, lambda f: None)
    try:
        monkeypatch.setenv("DNN_TUTOR_HOME", str(folder))
        listed = runner.invoke(app, ["lessons"])
        assert listed.exit_code == 0 and "Fixture basics" in listed.stdout
        assert listed.stderr.count("warning:") == 1 and "nothing can be saved" in listed.stderr
        monkeypatch.setattr("tutor.console.stdout_is_terminal", lambda: True)  # read on a screen: sections to record
        wrote = runner.invoke(app, ["lesson", "1"])
        assert wrote.exit_code == 1 and "Traceback" not in wrote.output
        errors = [line for line in wrote.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "section" in errors[0] and "NOT saved" in errors[0]
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


# -- locks -----------------------------------------------------------------------------
def test_a_lock_held_too_long_keeps_the_answer_for_later(tmp_path, monkeypatch):
    path = tmp_path / "progress.db"
    _fill(path)
    monkeypatch.setattr(store_file, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with Store(path) as store:
            assert store.sections_read()["deep-networks"] == {1, 2}  # reading still works (WAL)
            with pytest.raises(StoreError) as caught:
                store.record_attempt("backprop", "h2", 15, 15)
        assert "locked" in caught.value.message and "kept in progress.db.pending" in caught.value.message
    finally:
        other.execute("ROLLBACK")
        other.close()
    seen: list[str] = []
    with Store(path, on_warning=seen.append) as store:
        assert [a.passed for a in store.attempts("backprop")] == [7, 15]
    assert any("your check of backprop (15 of 15 checks)" in w for w in seen)
    assert not _aside(tmp_path)
    _assert_intact(path)


def test_pending_results_are_added_once_even_when_replayed_twice(tmp_path):
    path = tmp_path / "progress.db"
    _fill(path)
    pending = tmp_path / "progress.db.pending"
    entry = {"op": "attempt", "what": "x", "args": {"exercise_id": "conv", "file_hash": "h", "passed": 1,
                                                   "total": 9, "at": "2026-01-01T00:00:00+00:00"}}
    pending.write_text(json.dumps(entry) + "\n" + json.dumps(entry) + "\nnot json\n")
    Store(path).close()
    with Store(path) as store:
        assert len(store.attempts("conv")) == 1
    assert not pending.exists()
    assert list(tmp_path.glob("progress.db.pending.rejected-*"))  # the unreadable line is kept, not lost


# -- old stamps, dropped tables -------------------------------------------------------------
def test_user_version_zero_on_a_populated_database_is_adopted(tmp_path):
    path = tmp_path / "progress.db"
    _fill(path)
    _sql(path, "PRAGMA user_version = 0")
    with Store(path) as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.warnings == []
    assert not _aside(tmp_path)
    _assert_intact(path)


def test_version_one_file_gets_the_hint_table_and_imports_the_old_hint_file(tmp_path):
    path = tmp_path / "progress.db"
    conn = sqlite3.connect(path)
    conn.executescript(store_module.MIGRATIONS[0])
    conn.execute("INSERT INTO sections_read VALUES ('cnn', 1, '2026-01-01T00:00:00+00:00')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    legacy = tmp_path / "exercise-hints.json"
    legacy.write_text(json.dumps({"lstm": {"position": 3, "codes": ["wrong-gate"], "tailored_shown": []},
                                  "bad": "not a ladder"}))
    with Store(path) as store:
        assert store.hint_state("lstm") == {"position": 3, "codes": ["wrong-gate"], "tailored_shown": []}
        assert store.sections_read() == {"cnn": {1}}
    assert not legacy.exists()
    backups = list(tmp_path.glob("exercise-hints.json.imported-*"))
    assert len(backups) == 1 and "lstm" in backups[0].read_text()
    # imported once: a hint file that appears later is left alone
    legacy.write_text(json.dumps({"lstm": {"position": 0}}))
    with Store(path) as store:
        assert store.hint_state("lstm")["position"] == 3
    assert legacy.exists()


def test_a_dropped_table_is_recreated_and_the_rest_kept(tmp_path):
    path = tmp_path / "progress.db"
    _fill(path)
    _sql(path, "DROP TABLE quiz_cards")
    seen: list[str] = []
    with Store(path, on_warning=seen.append) as store:
        assert store.cards() == {}
        store.put_card("q1", {"s": 1}, "2030-01-01T00:00:00+00:00")
        assert "q1" in store.cards()
    assert len(seen) == 1 and "quiz_cards" in seen[0] and "recreated" in seen[0]
    assert not _aside(tmp_path)
    _assert_intact(path)


def test_a_newer_schema_stamp_is_refused_and_the_file_kept(tmp_path):
    path = tmp_path / "progress.db"
    _fill(path)
    _sql(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(Exception, match="newer than this dnn-tutor"):
        Store(path)
    assert path.read_bytes() == before and not _aside(tmp_path)


# -- damage ----------------------------------------------------------------------------
def _damage_table(path: Path, table: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    with open(path, "r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xa5" * page_size)


def test_a_damaged_page_is_noticed_not_crashed_on_and_can_be_repaired(tmp_path):
    path = tmp_path / "progress.db"
    _fill(path)
    _damage_table(path, "quiz_reviews")
    seen: list[str] = []
    with Store(path, on_warning=seen.append) as store:
        assert store.reviews() == []  # what cannot be read is not invented
        assert store.sections_read()["deep-networks"] == {1, 2}  # the rest reads fine
        assert store.reviews() == []
        health = store.health()
        assert not health.ok and health.problems
        assert health.counts["sections_read"] == 2
    assert len(seen) == 1 and "damaged" in seen[0] and "doctor" in seen[0]
    assert not _aside(tmp_path), "a damaged page is reported, not a reason to start over"
    with Store(path) as store:
        result = store.repair()
        assert result.damaged_copy.exists()
        assert result.rows["sections_read"] == 2 and result.rows["demo_runs"] == 1
        assert store.health().ok
        assert store.sections_read()["deep-networks"] == {1, 2}
        assert store.hint_state("backprop")["position"] == 2
        assert len(store.cards()) == 40  # another table: untouched by the damage


@pytest.mark.slow
def test_commands_warn_about_damage_and_doctor_repairs_it(runner, tutor_home):
    from tutor.cli import app

    path = tutor_home / "progress.db"
    _fill(path)
    _damage_table(path, "quiz_cards")
    for args in ([], ["progress"], ["progress", "--json"], ["exercises"], ["quiz", "--stats"], ["lessons"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
        assert result.stderr.count("warning:") <= 1, (args, result.stderr)
    assert "damaged" in runner.invoke(app, ["progress"]).stderr
    doctor = runner.invoke(app, ["doctor"])
    said = " ".join(doctor.output.split())
    assert doctor.exit_code == 1 and "doctor --repair" in said
    assert "damaged" in said and "malformed" in said
    repaired = runner.invoke(app, ["doctor", "--repair", "--json"])
    data = json.loads(repaired.stdout)
    assert data["database"]["repaired"]["rows_kept"]["sections_read"] == 2
    assert data["database"]["problems"] == []
    assert repaired.exit_code == 0, repaired.output
    _assert_intact(path)
    assert list(tutor_home.glob("progress.db.damaged-*"))


def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path):
    path = tmp_path / "progress.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\x07" * 300)  # the right header, garbage after it
    seen: list[str] = []
    with Store(path, on_warning=seen.append) as store:
        assert store.health().ok
    aside = _aside(tmp_path)
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"SQLite format 3")
    assert len(seen) == 1 and "moved it to progress.db.corrupt-" in seen[0]


def test_a_linked_progress_db_is_repaired_and_moved_aside_where_it_lives_and_the_link_stays(tmp_path):
    """progress.db as a link (to a synced folder, say): the file it points to is rebuilt or replaced, the
    damaged copy is kept beside that file, and the link still points there afterwards."""
    synced, home = tmp_path / "synced", tmp_path / "data"
    synced.mkdir()
    home.mkdir()
    real, link = synced / "progress.db", home / "progress.db"
    _fill(real)
    _damage_table(real, "quiz_reviews")
    link.symlink_to(real)
    with Store(link) as store:
        result = store.repair()
        assert result.damaged_copy.parent == synced and result.damaged_copy.exists()
        assert store.sections_read()["deep-networks"] == {1, 2}
    assert link.is_symlink() and link.resolve() == real.resolve()
    with Store(real) as store:
        assert store.health().ok and store.sections_read()["deep-networks"] == {1, 2}
    assert not list(home.glob("progress.db.*"))
    real.write_bytes(b"SQLite format 3\x00" + b"\x07" * 300)  # damaged past repair: moved aside, a new one started
    seen: list[str] = []
    with Store(link, on_warning=seen.append) as store:
        assert store.health().ok
    assert link.is_symlink() and link.resolve() == real.resolve() and real.is_file()
    assert len(_aside(synced)) == 1 and not _aside(home)
    assert len(seen) == 1 and "moved it to progress.db.corrupt-" in seen[0]


def test_an_unreadable_row_value_does_not_break_readers(tmp_path):
    path = tmp_path / "progress.db"
    _fill(path)
    _sql(path, "UPDATE demo_runs SET config = 'not json', metrics = '[1, 2]', seconds = 'slow'",
         "UPDATE quiz_cards SET state = '{broken' WHERE question_id = 'q1'",
         "INSERT INTO exercise_attempts (exercise_id, file_hash, passed, total, at) VALUES ('conv', 'h', 'many', 3, 'x')")
    with Store(path) as store:
        run = store.demo_runs()[0]
        assert run.config == {} and run.metrics == {} and run.seconds == 0.0
    _sql(path, """UPDATE demo_runs SET metrics = '{"test_acc": "high", "train_loss": [1], "epochs": 3}'""")
    with Store(path) as store:
        assert store.demo_runs()[0].metrics == {"epochs": 3}
        assert store.cards()["q1"].state == {}
        assert store.attempts("conv") == []


# -- backups -----------------------------------------------------------------------------
def test_backup_names_never_collide(tmp_path):
    from tutor import fsutil

    target = tmp_path / "progress.json"
    target.write_text("v1")
    names = {fsutil.backup_copy(target) for _ in range(50)}
    assert len(names) == 50 and all(p.read_text() == "v1" for p in names)


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    from tutor import fsutil

    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "out.json"
    target.write_text("old")

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError):
        fsutil.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in folder.iterdir()] == ["out.json"]  # no temporary file left behind


def test_read_regular_bytes_refuses_fifos_devices_and_big_files(tmp_path):
    from tutor import fsutil
    from tutor.errors import TutorError

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(TutorError, match="not a regular file"):
        fsutil.read_regular_bytes(fifo, 1000)  # returns at once: nothing is written to the FIFO
    with pytest.raises(TutorError, match="not a regular file"):
        fsutil.read_regular_bytes("/dev/zero", 1000)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(TutorError, match="limit"):
        fsutil.read_regular_bytes(big, 1000)
    with pytest.raises(TutorError, match="folder"):
        fsutil.read_regular_bytes(tmp_path, 1000)
    assert fsutil.read_regular_bytes(big, 2000) == b"x" * 2000


def test_ctrl_c_while_adding_pending_results_keeps_them(tmp_path, monkeypatch):
    path = tmp_path / "progress.db"
    _fill(path)
    pending = tmp_path / "progress.db.pending"
    entry = {"op": "attempt", "what": "x", "args": {"exercise_id": "conv", "file_hash": "h", "passed": 1,
                                                   "total": 9, "at": "2026-01-01T00:00:00+00:00"}}
    pending.write_text(json.dumps(entry) + "\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setitem(store_file.OPERATIONS, "attempt", interrupted)
        with pytest.raises(KeyboardInterrupt):
            Store(path)
    assert json.loads(pending.read_text()) == entry  # back where it waits
    assert [p.name for p in tmp_path.glob("progress.db.pending*")] == ["progress.db.pending"]
    with Store(path) as store:
        assert len(store.attempts("conv")) == 1


# -- hostile-tester regressions ---------------------------------------------------------------
def test_text_that_is_not_utf8_reads_as_damage_not_a_crash(tmp_path):
    """A garbage page can leave bytes that are not UTF-8 where text was stored: commands warn and
    show what can be read instead of failing with "Could not decode to UTF-8"."""
    path = tmp_path / "progress.db"
    _fill(path)
    _sql(path, "INSERT INTO sections_read VALUES (CAST(x'ff41' AS TEXT), 1, '2026-01-01T00:00:00+00:00')")
    warnings: list[str] = []
    with Store(path, on_warning=warnings.append) as store:
        store.sections_read()  # no exception
        assert store.damaged and len(warnings) == 1 and "is damaged" in warnings[0]
        assert store.attempts("backprop")[0].passed == 7  # the rest still reads
    assert path.exists() and not _aside(tmp_path)


def test_full_disk_is_called_a_full_disk_not_an_io_error(tmp_path, monkeypatch):
    """SQLite says "disk I/O error" when it cannot create the WAL files on a full disk."""
    path = tmp_path / "progress.db"
    _fill(path)
    store = Store(path)
    full = os.statvfs_result((4096, 4096, 100, 0, 0, 100, 0, 0, 0, 255))
    monkeypatch.setattr(store_file.os, "statvfs", lambda folder: full)
    reason = store._why_not_writable(sqlite3.OperationalError("disk I/O error"))
    store.close()
    assert reason == "the disk is full"


def test_a_result_that_cannot_be_kept_aside_names_the_pending_file(tmp_path, monkeypatch):
    path = tmp_path / "progress.db"
    _fill(path)
    store = Store(path)
    store.read_only, store.read_only_reason = True, "the disk is full"

    def no_space(fd, data):
        raise OSError(28, "No space left on device")  # a failed write names no file

    monkeypatch.setattr(store_file.os, "write", no_space)
    with pytest.raises(StoreError) as caught:
        store.record_attempt("conv", "h", 1, 2)
    monkeypatch.undo()
    store.close()
    assert "progress.db.pending: no space left on the device" in caught.value.message
    assert "NOT saved" in caught.value.message
    _assert_intact(path)


def test_really_full_disk_keeps_progress_and_says_so(small_disk, monkeypatch):
    """Through the command line: the export names its file, the reason is a full disk."""
    from typer.testing import CliRunner

    from tutor.cli import app

    mount = small_disk
    home = mount / "home"
    home.mkdir()
    monkeypatch.setenv("DNN_TUTOR_HOME", str(home))
    _fill(home / "progress.db")
    with open(mount / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass
    runner = CliRunner()
    export = runner.invoke(app, ["progress", "--export", str(mount / "out.json")])
    assert export.exit_code == 1 and "Traceback" not in export.output
    assert f"cannot use {mount / 'out.json'}: no space left on the device" in export.output
    assert "opened read-only (the disk is full)" in export.output
    assert not list(mount.glob(".out.json*"))  # no temporary file left behind
    (mount / "filler").unlink()
    _assert_intact(home / "progress.db")


def test_health_notices_a_file_sqlite_quietly_opened_read_only(tmp_path):
    """An immutable file (or one on a read-only mount) opens without complaint; doctor must
    still say that nothing new can be saved, and the probe writes nothing."""
    path = tmp_path / "progress.db"
    _fill(path)
    with Store(path) as store:
        assert store.health().read_only is False
        store._conn.close()
        store._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        health = store.health()
        assert health.read_only is True and health.integrity == "ok"
    _assert_intact(path)


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_something_odd_at_the_pending_file_name_never_blocks_or_moves(tmp_path, kind):
    path = tmp_path / "progress.db"
    _fill(path)
    pending = tmp_path / "progress.db.pending"
    if kind == "fifo":
        os.mkfifo(pending)  # opening it to read would wait for a writer forever
    else:
        pending.mkdir()
    warnings: list[str] = []
    with Store(path, on_warning=warnings.append) as store:
        assert store.health().pending == 0
        store.read_only, store.read_only_reason = True, "a test"
        with pytest.raises(StoreError, match="NOT saved"):  # and a write kept aside does not block either
            store.record_attempt("conv", "h", 1, 2)
    assert any("is not a regular file" in w for w in warnings)
    assert [p.name for p in tmp_path.glob("progress.db.pending*")] == ["progress.db.pending"]
    _assert_intact(path)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_database_name_that_is_no_regular_file_is_one_error_not_a_hang(tmp_path, kind):
    path = tmp_path / "progress.db"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/null")
    with pytest.raises(StoreError, match="is not a regular file") as caught:
        Store(path)
    assert caught.value.exit_code == 2  # the home is set up wrong, as DNN_TUTOR_HOME naming a file
    assert path.exists() or path.is_symlink()  # left where the learner put it


def test_a_result_that_cannot_be_saved_is_still_shown(runner, tmp_path, monkeypatch):
    """A full disk or a read-only home: check used to print only "could not save your check" (the verdict and
    its diagnoses lost), the quiz no verdict, hint no hint. Now each shows its result, then one error line."""
    from test_grading_helpers import SOLUTIONS
    from tutor.cli import app
    from tutor.errors import StoreError
    from tutor.quiz import schedule
    from tutor.store import Store

    def full(*args, **kwargs):
        raise StoreError("could not save it: the disk is full; it was NOT saved")

    monkeypatch.setattr(Store, "record_attempt", full)
    monkeypatch.setattr(Store, "set_hint_state", full)
    monkeypatch.setattr(schedule, "record", full)
    path = tmp_path / "backprop.py"
    path.write_text((SOLUTIONS / "backprop.py").read_text())
    checked = runner.invoke(app, ["check", str(path), "--seed", "3"])
    assert checked.exit_code == 0, checked.output  # the verdict: every check passes
    assert "15/15 checks" in checked.stdout and "NOT saved" in checked.stderr
    as_json = runner.invoke(app, ["check", str(path), "--seed", "3", "--json"])
    assert json.loads(as_json.stdout)["saved"] is False
    hinted = runner.invoke(app, ["hint", "backprop"])
    assert hinted.exit_code == 0 and "hint" in hinted.stdout.lower() and "NOT saved" in hinted.stderr
    quizzed = runner.invoke(app, ["quiz", "--question", "dnn-softmax-sums-to-one"], input="f\n")
    assert quizzed.exit_code == 1, quizzed.output  # the quiz's work is the saved answer (check's code is its verdict)
    assert "Right." in quizzed.stdout and "NOT saved" in quizzed.stderr
    assert "could not be saved" in quizzed.stdout


def test_a_home_under_proc_is_not_called_a_full_disk(runner, monkeypatch):
    """DNN_TUTOR_HOME=/proc said "(the disk is full)"; a read-only mount said "check the folder's
    permissions". The reason now comes from the file system itself."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc")
    from tutor.cli import app

    monkeypatch.setenv("DNN_TUTOR_HOME", "/proc")
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 0, result.output
    assert "not on a file system that keeps files" in result.stderr and "disk is full" not in result.stderr


def test_another_programs_database_is_left_as_it_is(runner, tutor_home):
    import sqlite3

    from tutor.cli import app

    with sqlite3.connect(tutor_home / "progress.db") as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    before = (tutor_home / "progress.db").read_bytes()
    result = runner.invoke(app, ["progress"])
    assert (tutor_home / "progress.db").read_bytes() == before  # not even switched to WAL mode
    assert result.exit_code == 1 and "database of another program" in result.stderr
    with sqlite3.connect(tutor_home / "progress.db") as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["invoices"]


def test_a_blank_or_relative_home_is_refused_or_made_absolute(runner, tmp_path, monkeypatch):
    from tutor import paths
    from tutor.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DNN_TUTOR_HOME", " ")
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 2 and "DNN_TUTOR_HOME" in result.stderr
    assert not (tmp_path / " ").exists()
    monkeypatch.setenv("DNN_TUTOR_HOME", "rel")
    assert paths.home_dir() == tmp_path / "rel"


# -- a hostile pending file -----------------------------------------------------------------------
def _pending_line(op: str, what: str, **args) -> str:
    return json.dumps({"op": op, "what": what, "args": args})


def test_bad_pending_lines_are_set_aside_once_and_the_good_ones_saved(tmp_path):
    path = tmp_path / "progress.db"
    _fill(path)
    at = "2026-01-01T00:00:00+00:00"
    bad = [
        "[" * 100_000 + "]" * 100_000,  # RecursionError in the JSON parser
        _pending_line("section", "huge", lesson_id="backprop", section=2**70, n_sections=5, at=at),  # OverflowError
        _pending_line("section", "list id", lesson_id=["a"], section=1, n_sections=5, at=at),  # no such binding
        _pending_line("section", "huge lesson", lesson_id="backprop", section=1, n_sections=10**11, at=at),  # 24 GB set
        _pending_line("attempt", "extra", exercise_id="conv", file_hash="h", passed=1, total=2, at=at, evil=1),
        _pending_line("nope", "unknown op"),
    ]
    good = _pending_line("section", "good", lesson_id="backprop", section=2, n_sections=5, at=at)
    pending = tmp_path / "progress.db.pending"
    pending.write_bytes("\n".join(bad[:3] + [good] + bad[3:]).encode() + b"\n\xff\xfe not utf-8\n")
    seen: list[str] = []
    with Store(path, on_warning=seen.append) as store:
        assert store.sections_read("backprop") == {"backprop": {2}}  # the good line is not held back by the bad ones
    rejected = sorted(tmp_path.glob("progress.db.pending.rejected-*"))
    assert len(rejected) == 1 and not pending.exists()
    kept = rejected[0].read_bytes().splitlines()
    assert kept == [line.encode() for line in bad] + [b"\xff\xfe not utf-8"]  # every bad line kept as it was
    assert [w for w in seen if rejected[0].name in w and "7 line(s)" in w], seen  # one warning naming the file
    assert [w for w in seen if "saved 1 result(s)" in w], seen
    seen.clear()
    with Store(path, on_warning=seen.append) as store:  # never tried again
        assert store.sections_read("backprop") == {"backprop": {2}}
    assert seen == [] and sorted(tmp_path.glob("progress.db.pending.rejected-*")) == rejected
    _assert_intact(path)


def test_a_claim_left_by_a_killed_run_is_picked_up_and_a_live_one_is_left_alone(tmp_path):
    import fcntl

    path = tmp_path / "progress.db"
    _fill(path)
    at = "2026-01-01T00:00:00+00:00"
    dead = tmp_path / f"progress.db.pending.{uuid.uuid4().hex}"
    dead.write_text(_pending_line("attempt", "x", exercise_id="conv", file_hash="h", passed=1, total=9, at=at) + "\n")
    live = tmp_path / f"progress.db.pending.{uuid.uuid4().hex}"
    live.write_text(_pending_line("attempt", "y", exercise_id="rnn", file_hash="h", passed=2, total=9, at=at) + "\n")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another run is adding these right now
        with Store(path) as store:
            assert len(store.attempts("conv")) == 1
            assert store.attempts("rnn") == []
            assert store.health().pending == 1  # the live claim still counts as waiting
        assert not dead.exists() and live.exists()
    finally:
        os.close(fd)  # that run was killed: its lock is gone
    with Store(path) as store:
        assert len(store.attempts("rnn")) == 1
    assert [p.name for p in tmp_path.glob("progress.db.pending*")] == []


def test_every_kind_of_kept_result_passes_the_checks_when_replayed(tmp_path):
    path = tmp_path / "progress.db"
    Store(path).close()
    with Store(path, read_only=True) as store:  # nothing can be written: every result is kept aside
        for record in (
            lambda: store.mark_section_read("deep-networks", 3, 3),
            lambda: store.record_attempt("backprop", "0f" * 32, 7, 15),
            lambda: store.record_review("q1", "x" * 50_000, True, {"stability": 2.5}, "2030-01-01T00:00:00+00:00"),
            lambda: store.put_card("q2", {}, "2030-01-01T00:00:00+00:00"),
            lambda: store.record_demo_run("xor", {"lr": 0.1, "layers": [2, 4]}, {"acc": 0.9, "loss": None},
                                          "cuda:0 (NVIDIA H200)", 1.5),
            lambda: store.set_hint_state("backprop", {"position": 1, "codes": ["db-not-summed"], "tailored_shown": []}),
        ):
            with pytest.raises(StoreError):
                record()
    seen: list[str] = []
    with Store(path, on_warning=seen.append) as store:
        assert store.sections_read()["deep-networks"] == {3}
        assert [a.passed for a in store.attempts()] == [7]
        assert [r.answer for r in store.reviews()] == ["x" * 9_999 + "…"]  # kept as an export carries it
        assert set(store.cards()) == {"q1", "q2"}
        assert [r.device for r in store.demo_runs()] == ["cuda:0 (NVIDIA H200)"]
        assert store.hint_state("backprop")["position"] == 1
    assert not list(tmp_path.glob("progress.db.pending*")), seen
    assert len(seen) == 1 and "saved 6 result(s)" in seen[0]


# -- a damaged schema page ------------------------------------------------------------------------
def _damage_schema_page(path: Path) -> None:
    """300 zero bytes in the first page, where SQLite keeps the schema (as the hostile tester did)."""
    with open(path, "r+b") as handle:
        handle.seek(4096 - 1200)
        handle.write(b"\0" * 300)


def _aside_dbs(folder: Path) -> list[Path]:
    return [p for p in _aside(folder) if not p.name.endswith(("-wal", "-shm", "-journal"))]


def test_a_database_set_aside_is_reported_by_doctor_and_repair_recovers_its_rows(runner, tutor_home):
    from tutor.cli import app

    path = tutor_home / "progress.db"
    _fill(path)
    _damage_schema_page(path)
    with Store(path) as store:  # the first command sets the whole file aside and starts afresh
        assert store.sections_read() == {}
        store.record_attempt("backprop", "h2", 9, 15)  # a result earned since
    aside = _aside_dbs(tutor_home)
    assert len(aside) == 1

    doctor = runner.invoke(app, ["doctor", "--json"])
    data = json.loads(doctor.stdout)
    assert doctor.exit_code == 1 and not data["ok"]  # never "all good"
    check = [c for c in data["checks"] if c["name"] == "progress database"][0]
    assert not check["ok"] and aside[0].name in check["detail"] and "doctor --repair" in check["detail"]
    assert [p for p in data["database"]["problems"] if aside[0].name in p]

    repaired = runner.invoke(app, ["doctor", "--repair", "--json"])
    data = json.loads(repaired.stdout)
    assert repaired.exit_code == 0, repaired.output
    [salvaged] = data["database"]["salvaged"]
    assert salvaged["error"] == "" and salvaged["rows_read"]["quiz_reviews"] == 40
    assert data["database"]["rows"]["quiz_reviews"] == 40 and data["database"]["set_aside"] == []
    _assert_intact(path)  # every row is back
    with Store(path) as store:
        assert sorted(a.passed for a in store.attempts("backprop")) == [7, 9]  # and the newer one is kept
    assert not _aside_dbs(tutor_home) and list(tutor_home.glob("progress.db.salvaged-*"))  # kept, renamed
    again = runner.invoke(app, ["doctor", "--repair", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["database"]["salvaged"] == []


def test_a_set_aside_file_that_cannot_be_salvaged_is_kept_and_said_so(runner, tutor_home):
    from tutor.cli import app

    path = tutor_home / "progress.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\x07" * 9000)  # the right header, garbage after it
    Store(path).close()
    aside = _aside_dbs(tutor_home)
    assert len(aside) == 1
    content = aside[0].read_bytes()
    repaired = runner.invoke(app, ["doctor", "--repair", "--json"])
    assert repaired.exit_code == 0  # the live database is healthy; the old file is said once and kept
    data = json.loads(repaired.stdout)
    [salvaged] = data["database"]["salvaged"]
    assert salvaged["error"] and "\n" not in salvaged["error"] and "--repair" not in salvaged["error"]
    check = [c for c in data["checks"] if c["name"] == "progress database"][0]
    assert "too damaged to recover any row" in check["detail"] and "will not ask about it again" in check["detail"]
    assert "--repair" not in check["detail"]  # it said: could not recover (... `doctor --repair` rebuilds it)
    [kept] = tutor_home.glob("progress.db.unrecoverable-*")
    assert kept.read_bytes() == content and not _aside_dbs(tutor_home)  # kept byte for byte, under a name doctor leaves be
    # named before and after: the warning of a run that set it aside names the .corrupt- file, which is gone now
    assert f"set aside as {aside[0].name}" in check["detail"] and f"it is now {kept}" in check["detail"]
    again = runner.invoke(app, ["doctor", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["database"]["set_aside"] == []


def test_pending_results_an_export_would_refuse_are_set_aside_or_shortened():
    """An attempt of an unknown exercise or with more checks passed than there are, and a 50,000-character
    answer, were applied from the pending file; every export after that was refused by import."""
    import json as _json

    from tutor.store_schema import parse_pending

    def line(op, **args):
        return _json.dumps({"op": op, "args": args}).encode()

    at = "2026-11-30T00:00:00+00:00"
    for bad in (line("attempt", exercise_id="nope", file_hash="ab", passed=1, total=2, at=at),
                line("attempt", exercise_id="conv", file_hash="ab", passed=9, total=7, at=at)):
        with pytest.raises(ValueError):
            parse_pending(bad)
    assert parse_pending(line("attempt", exercise_id="conv", file_hash="ab", passed=3, total=7, at=at))[0] == "attempt"
    _, args, _ = parse_pending(line("review", question_id="dnn-softmax-stable", answer="7" * 50_000, correct=False,
                                    state="{}", due=at, at=at))
    assert len(args["answer"]) == 10_000 and args["answer"].endswith("…")


def test_an_old_long_answer_is_exported_shortened_so_it_imports(tmp_path):
    with Store(tmp_path / "a.db") as store:
        store._conn.execute("INSERT INTO quiz_reviews (question_id, answer, correct, state, due, at) VALUES (?, ?, 0, '{}', ?, ?)",
                            ("dnn-softmax-stable", "x" * 50_000, "2030-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"))
        store._conn.commit()
        data = store.export()
    with Store(tmp_path / "b.db") as other:
        other.import_(data)
        assert len(other.reviews()[0].answer) == 10_000


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_progress_database_that_is_a_folder_or_a_pipe_is_a_set_up_error_exit_2(runner, tutor_home, kind):
    """As DNN_TUTOR_HOME naming a file: the home is set up wrong (exit 2), not a command that failed (it was 1)."""
    from tutor.cli import app

    db = tutor_home / "progress.db"
    if kind == "folder":
        db.mkdir()
    else:
        os.mkfifo(db)
    result = runner.invoke(app, ["progress"])
    assert result.exit_code == 2, result.output
    assert "move it away or set DNN_TUTOR_HOME" in result.stderr and "Traceback" not in result.output
    listed = runner.invoke(app, ["lessons"])  # the list shows what was read: the same line, the same code
    assert listed.exit_code == 2 and "move it away or set DNN_TUTOR_HOME" in listed.stderr
