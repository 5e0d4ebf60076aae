"""Imports are checked before anything is written (property-based, with hypothesis).

Whatever a progress file holds, ``import_`` either refuses it with one TutorError and changes
nothing, or accepts it and every reader afterwards (dashboard, demo journal, quiz counts,
exports) still works."""

from __future__ import annotations

import copy
import json
import math
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tutor import export_schema
from tutor.errors import TutorError
from tutor.store import Store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def known():
    from tutor.progress import known_ids
    from tutor.quiz import schedule

    ids = known_ids()
    # The quiz bank is read once for the module, not once per generated example.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schedule, "known_question_ids", lambda: set(ids.questions or ()))
        yield ids


@pytest.fixture(scope="module")
def course():
    from tutor.lessons import load_course

    return load_course()


NOW = datetime.now(timezone.utc)
moments = st.datetimes(min_value=datetime(2001, 1, 1), max_value=(NOW - timedelta(days=1)).replace(tzinfo=None)) \
    .map(lambda d: d.replace(tzinfo=timezone.utc).isoformat())
finite = st.floats(min_value=0, max_value=1, allow_nan=False)


def rows(known) -> st.SearchStrategy:
    lessons = sorted(known.lessons)
    exercises = sorted(known.exercises)
    demos = sorted(known.demos)
    questions = sorted(known.questions)

    def section_row(lesson):
        return st.fixed_dictionaries({
            "lesson_id": st.just(lesson), "section": st.integers(1, known.lessons[lesson]), "read_at": moments})

    attempt = st.integers(0, 30).flatmap(lambda total: st.fixed_dictionaries({
        "exercise_id": st.sampled_from(exercises), "file_hash": st.text("0123456789abcdef", min_size=8, max_size=64),
        "passed": st.integers(0, total), "total": st.just(total), "at": moments}))
    state = st.dictionaries(st.sampled_from(["stability", "difficulty", "step"]), finite, max_size=3)
    return st.fixed_dictionaries({
        "format": st.just("dnn-tutor-progress"),
        "version": st.sampled_from([1, 2]),
        "sections_read": st.lists(st.sampled_from(lessons).flatmap(section_row), max_size=6),
        "lessons_completed": st.lists(st.fixed_dictionaries({
            "lesson_id": st.sampled_from(lessons), "completed_at": moments}), max_size=3),
        "exercise_attempts": st.lists(attempt, max_size=5),
        "quiz_reviews": st.lists(st.fixed_dictionaries({
            "question_id": st.sampled_from(questions), "answer": st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=30), "correct": st.booleans(),
            "state": state, "due": moments, "at": moments}), max_size=5),
        "quiz_cards": st.lists(st.fixed_dictionaries({
            "question_id": st.sampled_from(questions), "state": state, "due": moments, "updated_at": moments}),
            max_size=5),
        "demo_runs": st.lists(st.fixed_dictionaries({
            "demo_id": st.sampled_from(demos), "config": st.fixed_dictionaries({"lr": finite, "epochs": st.integers(1, 50)}),
            "metrics": st.fixed_dictionaries({"test_acc": finite, "test_loss": finite}),
            "device": st.sampled_from(["cpu", "cuda", "mps"]), "seconds": finite, "at": moments}), max_size=4),
        "hint_state": st.lists(st.fixed_dictionaries({
            "exercise_id": st.sampled_from(exercises),
            "state": st.fixed_dictionaries({"position": st.integers(0, 6), "codes": st.just(["db-not-summed"])}),
            "updated_at": moments}), max_size=3),
    })


BAD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(), st.text(max_size=20),
    st.sampled_from(["[/red]", "[bold]x", "9999-12-31T23:59:59+00:00", "2999-01-01T00:00:00", "1970-01-01T00:00:00",
                     "", "x" * 300, "../../etc", "NaN", "\x00", "nonexistent-lesson"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _readers_work(store: Store, course) -> None:
    """Everything a later command reads from the store."""
    from tutor.progress import dashboard
    from tutor.render.progress import render_dashboard
    from tutor.render.training import render_history

    from rich.console import Console

    console = Console(file=open("/dev/null", "w"), width=80)  # noqa: SIM115
    board = dashboard(course, store)
    console.print(render_dashboard(board))
    console.print(render_history(store.demo_runs(limit=50)))
    json.dumps(board.to_dict(), allow_nan=False)
    store.export()


def _snapshot(store: Store) -> dict:
    data = store.export()
    data.pop("exported_at")
    return data


SETTINGS = settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_a_valid_export_imports_once_and_round_trips(known, course, data):
    export = data.draw(rows(known))
    with tempfile.TemporaryDirectory() as folder:
        with Store(Path(folder) / "p.db") as store:
            counts = store.import_(copy.deepcopy(export), known)
            assert sum(v for k, v in counts.items() if k != "skipped") > 0 or not any(
                export[k] for k in export_schema.SECTION_NAMES)
            again = store.import_(copy.deepcopy(export), known)
            assert sum(v for k, v in again.items() if k != "skipped") == 0
            _readers_work(store, course)
            out = store.export()
            first: dict = {}  # an entry already present (same key and time) is skipped
            for r in export["exercise_attempts"]:
                first.setdefault((r["exercise_id"], r["file_hash"], r["at"]), (r["exercise_id"], r["passed"], r["total"]))
            assert sorted((r["exercise_id"], r["passed"], r["total"]) for r in out["exercise_attempts"]) == sorted(
                first.values())
            assert len(out["demo_runs"]) == len({(r["demo_id"], r["at"]) for r in export["demo_runs"]})
            # and the export of the result imports cleanly into another store
            with Store(Path(folder) / "q.db") as other:
                other.import_(json.loads(json.dumps(out)), known)


FIELDS = [(section.name, name) for section in export_schema.SECTIONS for name in section.fields]


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_one_bad_field_refuses_the_whole_file_or_is_harmless(known, course, data):
    export = data.draw(rows(known))
    section, field = data.draw(st.sampled_from(FIELDS))
    if not export[section]:
        export[section] = data.draw(rows(known).filter(lambda e: e[section]))[section]
    index = data.draw(st.integers(0, len(export[section]) - 1))
    bad = data.draw(BAD_VALUES)
    export[section][index][field] = bad
    with tempfile.TemporaryDirectory() as folder:
        with Store(Path(folder) / "p.db") as store:
            store.mark_section_read("deep-networks", 1, 8)
            before = _snapshot(store)
            try:
                store.import_(export, known)
            except TutorError as exc:
                assert "nothing was imported" in exc.message and "\n" not in exc.message
                assert _snapshot(store) == before  # all or nothing
            _readers_work(store, course)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@pytest.mark.slow
@SETTINGS
@given(payload=st.one_of(json_values, st.fixed_dictionaries(
    {"format": st.just("dnn-tutor-progress")},
    optional={name: json_values for name in ("version", *export_schema.SECTION_NAMES)})))
def test_any_json_is_refused_cleanly_or_accepted(known, course, payload):
    with tempfile.TemporaryDirectory() as folder:
        with Store(Path(folder) / "p.db") as store:
            try:
                store.import_(payload, known)
            except TutorError as exc:
                assert "\n" not in exc.message
            _readers_work(store, course)


@pytest.mark.parametrize(
    "section, field, value, message",
    [
        ("exercise_attempts", "passed", 20, "20 checks passed out of 15"),
        ("exercise_attempts", "total", -1, "outside"),
        ("exercise_attempts", "exercise_id", "[/red]", "not a valid exercise id"),
        ("exercise_attempts", "exercise_id", "no-such-exercise", "unknown exercise"),
        ("sections_read", "section", 99, "has 8 sections, not 99"),
        ("sections_read", "section", 1.5, "not a whole number"),
        ("sections_read", "read_at", "2999-01-01T00:00:00+00:00", "in the future"),
        ("sections_read", "read_at", "yesterday", "not a timestamp"),
        ("demo_runs", "seconds", float("nan"), "outside"),
        ("demo_runs", "metrics", {"test_acc": "high"}, "not a number"),
        ("demo_runs", "config", "lr=0.1", "not a JSON object"),
        ("quiz_reviews", "correct", "yes", "not true or false"),
        # a review's state had only to be an object; a card's is checked for what the scheduler can use
        ("quiz_reviews", "state", {"card_id": 1, "state": 2, "step": -5, "stability": -1e300, "difficulty": 5.0,
                                   "due": "2026-01-01T00:00:00+00:00", "last_review": None}, "not a quiz card state"),
        # metrics strings are shown by the journal too: no markup, no escape sequences
        ("demo_runs", "metrics", {"test_acc": 0.9, "note": "[red]boom"}, "not a valid setting"),
        ("demo_runs", "metrics", {"test_acc": 0.9, "note": "x\x1b[2J\x1b]0;PWNED\x07"}, "not a valid setting"),
        ("demo_runs", "config", {"optimizer": "adam\x1b[31m"}, "not a valid setting"),
    ],
)
def test_refusals_name_the_row_and_the_problem(known, section, field, value, message):
    good = {
        "exercise_attempts": {"exercise_id": "backprop", "file_hash": "abc", "passed": 3, "total": 15,
                              "at": "2026-01-01T00:00:00+00:00"},
        "sections_read": {"lesson_id": "deep-networks", "section": 2, "read_at": "2026-01-01T00:00:00+00:00"},
        "demo_runs": {"demo_id": "xor", "config": {"lr": 0.1}, "metrics": {"test_acc": 0.9}, "device": "cpu",
                      "seconds": 1.0, "at": "2026-01-01T00:00:00+00:00"},
        "quiz_reviews": {"question_id": sorted(known.questions)[0], "answer": "a", "correct": True, "state": {},
                         "due": "2026-01-02T00:00:00+00:00", "at": "2026-01-01T00:00:00+00:00"},
    }
    row = dict(good[section], **{field: value})
    export = {"format": "dnn-tutor-progress", "version": 2, section: [good[section], row]}
    with pytest.raises(TutorError) as caught:
        export_schema.validate(export, known)
    assert message in caught.value.message
    assert f"{section}[1]" in caught.value.message


def test_retired_quiz_questions_are_left_out_not_refused(known):
    export = {"format": "dnn-tutor-progress", "version": 2, "quiz_cards": [
        {"question_id": "retired-question", "state": {}, "due": "2026-01-01T00:00:00+00:00",
         "updated_at": "2026-01-01T00:00:00+00:00"}]}
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "p.db") as store:
        counts = store.import_(export, known)
        assert counts["skipped"] == 1 and counts["quiz_cards"] == 0 and store.cards() == {}


def test_export_never_writes_nan(tmp_path):
    with Store(tmp_path / "p.db") as store:
        store.record_demo_run("xor", {"lr": float("inf")}, {"test_loss": float("nan"), "test_acc": 0.5}, "cpu", 1.0)
        text = json.dumps(store.export(), allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text
    assert math.isfinite(json.loads(text)["demo_runs"][0]["metrics"]["test_acc"])


def test_real_demo_journal_entries_round_trip(known, tmp_path):
    metrics = {"test_acc": 0.97, "test_loss": None, "data": "sklearn digits (offline)", "stopped_epoch": 12,
               "models": {"SimpleRNN": {"val_acc": 0.5, "epochs_run": 3}, "LSTM 2": {"val_acc": 0.9}},
               "grad_ratio_first_last_trained": {"rnn": 0.01}, "table": [{"labels": 5, "frozen": 0.8}]}
    config = {"epochs": 20, "lr": 0.001, "hidden": [64, 32], "optimizer": "adam", "seed": None}
    with Store(tmp_path / "a.db") as a:
        a.record_demo_run("rnn", config, metrics, "cpu", 12.5)
        exported = json.loads(json.dumps(a.export()))
    with Store(tmp_path / "b.db") as b:
        assert b.import_(exported, known)["demo_runs"] == 1
        run = b.demo_runs()[0]
        assert run.metrics == metrics and run.config == config


def test_a_key_given_twice_is_refused_not_guessed():
    from tutor import jsonutil

    with pytest.raises(ValueError, match="'format' appears twice"):
        jsonutil.loads_strict('{"format": "x", "format": "dnn-tutor-progress"}')
    with pytest.raises(ValueError, match="'passed' appears twice"):
        jsonutil.loads_strict('{"rows": [{"passed": 1, "passed": 2}]}')
    assert jsonutil.loads_strict('{"a": {"k": 1}, "b": {"k": 2}}') == {"a": {"k": 1}, "b": {"k": 2}}


def test_a_whole_number_of_thousands_of_digits_is_refused_in_plain_words(runner, tmp_path):
    """"version": 999...9 (5,000 digits) gave Python's advice: "use sys.set_int_max_str_digits()"."""
    from tutor import jsonutil
    from tutor.cli import app

    with pytest.raises(ValueError, match="a whole number of 5,000 digits"):
        jsonutil.loads_strict('{"version": ' + "9" * 5000 + "}")
    assert jsonutil.loads_strict('{"n": -123456789012345678901234567890}') == {"n": -123456789012345678901234567890}
    huge = tmp_path / "huge.json"
    huge.write_text('{"format": "dnn-tutor-progress", "version": ' + "9" * 5000 + "}")
    result = runner.invoke(app, ["progress", "--import", str(huge)])
    assert result.exit_code == 2 and "a whole number of 5,000 digits" in result.output
    assert "sys.set_int_max_str_digits" not in result.output and result.output.count("\n") == 1


@pytest.mark.parametrize("config, metrics", [
    ({"[/red]": 1}, {"test_acc": 0.5}),
    ({"optimizer": "[/bold]adam"}, {"test_acc": 0.5}),
    ({"lr": 0.1}, {"[bold]": 0.5}),
])
def test_demo_settings_that_would_read_as_markup_are_refused(tmp_path, config, metrics):
    """They broke every later `demo --history` (the journal shows the settings)."""
    data = {"format": export_schema.EXPORT_FORMAT, "version": 2, "demo_runs": [
        {"demo_id": "xor", "config": config, "metrics": metrics, "device": "cpu", "seconds": 1.0,
         "at": "2026-01-01T00:00:00+00:00"}]}
    with Store(tmp_path / "p.db") as store:
        with pytest.raises(TutorError, match="nothing was imported"):
            store.import_(data)
        assert store.demo_runs() == []


@pytest.mark.parametrize("metrics", [{"test_acc": 1e300}, {"train_acc": -5}, {"test_loss": -1.0}])
def test_impossible_demo_metrics_are_refused(metrics):
    """An accuracy of 1e300 imported fine and then filled `demo --history` with a 300-digit column."""
    from tutor.errors import TutorError

    export = {"format": "dnn-tutor-progress", "version": 2, "demo_runs": [
        {"demo_id": "xor", "config": {}, "metrics": metrics, "device": "cpu", "seconds": 1.0, "at": "2026-01-01T00:00:00+00:00"}]}
    with pytest.raises(TutorError, match="is not a"):
        export_schema.validate(export)


def test_json_nested_thousands_deep_is_refused_in_plain_words(runner, tmp_path):
    """It said Python's "maximum recursion depth exceeded while decoding a JSON array from a unicode string"."""
    from tutor.cli import app

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    result = runner.invoke(app, ["progress", "--import", str(deep)])
    assert result.exit_code == 2, result.output
    assert "nested thousands of levels deep" in result.output and "recursion" not in result.output
