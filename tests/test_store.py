"""The progress store: schema, migrations, concurrency, corruption, export/import."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest

from tutor import store_schema
from tutor.errors import TutorError
from tutor.store import SCHEMA_VERSION, Store


def test_new_store_has_current_schema_and_wal(tmp_path):
    with Store(tmp_path / "p.db") as store:
        health = store.health()
    assert health.schema_version == SCHEMA_VERSION >= 1
    assert health.journal_mode.lower() == "wal"
    assert health.integrity == "ok"
    assert set(health.counts) == {
        "sections_read", "lessons_completed", "exercise_attempts", "quiz_reviews", "quiz_cards", "demo_runs",
        "hint_state",
    }


def test_migration_from_an_older_file_keeps_data(tmp_path, monkeypatch):
    path = tmp_path / "p.db"
    with Store(path) as store:
        store.mark_section_read("backprop", 1, 3)
    # A later release appends a migration: the existing file is upgraded in place.
    monkeypatch.setattr(store_schema, "MIGRATIONS", store_schema.MIGRATIONS + ["CREATE TABLE extra (x INTEGER)"])
    monkeypatch.setattr(store_schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with Store(path) as store:
        assert store.sections_read()["backprop"] == {1}
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        store._conn.execute("SELECT count(*) FROM extra").fetchone()


def test_a_newer_schema_is_refused_not_destroyed(tmp_path):
    path = tmp_path / "p.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(TutorError, match="newer"):
        Store(path)
    assert path.exists()


def test_sections_complete_a_lesson_once(tmp_path):
    with Store(tmp_path / "p.db") as store:
        assert store.mark_section_read("cnn", 1, 2) is False
        assert store.mark_section_read("cnn", 2, 2) is True
        assert store.mark_section_read("cnn", 2, 2) is False  # already complete
        assert "cnn" in store.lessons_completed()


def _writer(path: str, worker: int, count: int) -> None:
    with Store(path) as store:
        for i in range(count):
            store.record_attempt(f"ex{worker}", f"hash{i}", i % 5, 5)
            store.record_demo_run(f"demo{worker}", {"i": i}, {"acc": 0.5}, "cpu", 0.1)


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "p.db"
    Store(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 60)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Store(path) as store:
        assert len(store.attempts("ex0")) == 60
        assert len(store.attempts("ex1")) == 60
        assert len(store.demo_runs(limit=None)) == 120


def test_corrupt_file_is_moved_aside_and_replaced(tmp_path):
    path = tmp_path / "progress.db"
    path.write_bytes(b"this is not a database, just bytes" * 100)
    with Store(path) as store:
        assert store.health().integrity == "ok"
        assert len(store.warnings) == 1
        assert "moved it to progress.db.corrupt-" in store.warnings[0]
    aside = list(tmp_path.glob("progress.db.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes().startswith(b"this is not a database")


def test_export_import_merges_without_losing_newer_local_entries(tmp_path):
    a = Store(tmp_path / "a.db")
    b = Store(tmp_path / "b.db")
    a.mark_section_read("backprop", 1, 8)
    a.record_attempt("backprop", "h1", 3, 9)
    a.record_review("q1", "softmax", True, {"stability": 1.0}, "2026-01-01T00:00:00+00:00")
    a.record_demo_run("xor", {"lr": 0.1}, {"acc": 0.99}, "cpu", 1.5)
    exported = a.export()
    # b has a newer card for q1 than the export does
    b.record_review("q1", "sigmoid", False, {"stability": 0.1}, "2027-01-01T00:00:00+00:00")
    counts = b.import_(json.loads(json.dumps(exported)))
    assert counts["sections_read"] == 1 and counts["exercise_attempts"] == 1 and counts["demo_runs"] == 1
    assert counts["quiz_reviews"] == 1 and counts["quiz_cards"] == 0
    assert b.cards()["q1"].due.startswith("2027")  # the newer local card won
    assert len(b.reviews("q1")) == 2
    # importing twice adds nothing
    assert sum(b.import_(exported).values()) == 0
    a.close()
    b.close()


def test_import_rejects_foreign_json(tmp_path):
    with Store(tmp_path / "p.db") as store:
        with pytest.raises(TutorError, match="not a dnn-tutor progress export"):
            store.import_({"hello": 1})
        with pytest.raises(TutorError, match="malformed"):
            store.import_({"format": "dnn-tutor-progress", "version": 1, "sections_read": [{"lesson_id": "x"}]})
        assert store.sections_read() == {}


def test_hint_ladder_lives_in_the_store_and_restarts_when_the_failure_changes(tmp_path):
    from tutor.grading import catalogue, hints

    info = catalogue.load()["backprop"]
    code = next(iter(info.tailored))
    with Store(tmp_path / "p.db") as store:
        assert hints.next_hint(info, store).step == 1
        assert hints.next_hint(info, store).step == 2
        hints.record_check("backprop", [code], store)  # the same ladder: this is the first failure seen
        tailored = hints.next_hint(info, store)
        assert tailored.kind == "tailored" and tailored.code == code
        assert hints.next_hint(info, store).step == 1  # a new failure started the ladder again
        assert hints.next_hint(info, store).step == 2
        hints.record_check("backprop", [code], store)  # the same failure again: keep climbing
        assert hints.next_hint(info, store).kind == "tailored"
        assert hints.next_hint(info, store).step == 3
        hints.record_check("backprop", ["some-other-failure"], store)  # a different mistake: start again
        assert hints.next_hint(info, store).step == 1
        hints.reset_ladder("backprop", store)
        assert store.hint_state("backprop") == {}
        assert hints.next_hint(info, store).step == 1
        assert store.hint_state("backprop")["position"] == 1


def test_legacy_hint_file_that_cannot_be_read_is_kept_as_a_backup(tmp_path):
    (tmp_path / "exercise-hints.json").write_text("{not json")
    with Store(tmp_path / "progress.db") as store:
        assert store.hint_states() == {}
        assert any("exercise-hints.json" in w for w in store.warnings)
    assert not (tmp_path / "exercise-hints.json").exists()
    kept = list(tmp_path.glob("exercise-hints.json.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_text() == "{not json"


def test_a_hint_that_could_not_be_shown_does_not_move_the_ladder(tmp_path):
    """`hint > /dev/full` (or a closed output) used up a rung of the ladder for a hint nobody saw."""
    import errno

    from tutor.grading import catalogue, hints

    info = catalogue.load()["backprop"]

    def full_disk(hint):
        raise OSError(errno.ENOSPC, "No space left on device")

    with Store(tmp_path / "p.db") as store:
        with pytest.raises(OSError):
            hints.next_hint(info, store, show=full_disk)
        seen = []
        assert hints.next_hint(info, store, show=seen.append).step == 1 and seen[0].step == 1
        assert hints.next_hint(info, store).step == 2


def test_hint_with_its_output_closed_says_so_and_keeps_the_ladder(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path / "home"))
    closed = subprocess.run([sys.executable, "-m", "tutor", "hint", "backprop"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, timeout=60, preexec_fn=lambda: os.close(1))
    assert closed.returncode == 1 and "standard output is closed" in closed.stderr
    shown = subprocess.run([sys.executable, "-m", "tutor", "hint", "backprop"], env=env, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "hint 1/" in shown.stdout


# -- doctor --repair while another process writes -------------------------------------------------
def test_a_write_after_another_process_rebuilt_the_file_lands_in_the_new_file(tmp_path):
    path = tmp_path / "progress.db"
    quiz = Store(path)  # a quiz running in another terminal
    quiz.record_attempt("backprop", "h1", 1, 15)
    with Store(path) as doctor:
        doctor.repair()  # puts a rebuilt file in place; the old one is moved aside
    quiz.record_attempt("backprop", "h2", 2, 15)  # the quiz's connection still has the old file open
    quiz.record_review("q1", "a", True, {}, "2030-01-01T00:00:00+00:00")
    quiz.close()
    with Store(path) as store:
        assert [a.passed for a in store.attempts("backprop")] == [1, 2]
        assert [r.question_id for r in store.reviews()] == ["q1"]


def test_rebuild_holds_the_write_lock_from_the_copy_until_the_new_file_is_in_place(tmp_path, monkeypatch):
    from tutor import store_health

    path = tmp_path / "progress.db"
    with Store(path) as store:
        store.record_attempt("backprop", "h1", 1, 15)
    seen: list[str] = []
    copy = store_health._copy_table

    def copy_while_another_writes(source, table, target, skip=()):
        other = sqlite3.connect(path, timeout=0.05)
        try:
            other.execute("INSERT INTO quiz_cards VALUES ('q9', '{}', '2030', '2026')")
            other.commit()
            seen.append("written")
        except sqlite3.OperationalError as exc:
            seen.append(str(exc))
        finally:
            other.close()
        return copy(source, table, target, skip)

    monkeypatch.setattr(store_health, "_copy_table", copy_while_another_writes)
    with Store(path) as doctor:
        doctor.repair()
    assert seen and all("locked" in s for s in seen), seen  # no write could reach the file being replaced


def test_a_very_long_answer_is_kept_shortened_so_the_export_imports_again(tmp_path, monkeypatch):
    """A 50,000-character answer was stored whole; the export then held it, and import refused the whole file."""
    from tutor.export_schema import MAX_TEXT

    with Store(tmp_path / "a.db") as store:
        store.record_review("dnn-softmax-stable", "x" * 50_000, False, {}, "2030-01-01T00:00:00+00:00")
        data = store.export()
        assert len(store.reviews()[0].answer) == MAX_TEXT and store.reviews()[0].answer.endswith("…")
    with Store(tmp_path / "b.db") as other:
        other.import_(data)
        assert len(other.reviews()) == 1
