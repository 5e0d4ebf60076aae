"""Renderers for ``progress`` and ``doctor``. They return rich objects."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tutor.doctor import Report, journal_words
from tutor.progress import Dashboard
from tutor.quiz.bank import plural
from tutor.render.lessons import render_lessons_table, render_next_steps

LESSON_NUMBER = "lesson #"  # the Exercises table's lesson column: a number, as the Lessons table's "#" is


def render_dashboard(dashboard: Dashboard) -> RenderableType:
    parts: list[RenderableType] = [render_lessons_table(dashboard.lessons)]

    # collapse_padding: with the longer "lesson #" header a full row still fits 60 columns on one line
    exercises = Table(title="Exercises (best attempt)", box=box.SIMPLE_HEAVY, title_justify="left", collapse_padding=True)
    exercises.add_column("exercise", style="cyan")
    # the lesson's number, headed as the Lessons table above heads it ("#"; its "lesson" column is the title)
    exercises.add_column(LESSON_NUMBER, justify="right")
    exercises.add_column("status")
    exercises.add_column("when", style="dim")
    for e in dashboard.exercises:
        style = "green" if e.done else ("yellow" if e.total else "dim")
        status = Text(("✓ " if e.done else "") + e.label, style=style)
        exercises.add_row(Text(e.id), str(e.lesson), status, Text(e.at[:16].replace("T", " ")))
    parts.append(exercises)

    quiz = Text()
    accuracy = f"{100 * dashboard.quiz_correct / dashboard.quiz_reviews:.0f}%" if dashboard.quiz_reviews else "—"
    quiz.append(f"{plural(dashboard.quiz_cards, 'card')} · {plural(dashboard.quiz_reviews, 'answer')} · {accuracy} right · ")
    quiz.append(f"{dashboard.due_now} due now", style="bold yellow" if dashboard.due_now else "")
    later_today = dashboard.due_today - dashboard.due_now
    if later_today > 0:
        quiz.append(f" · {later_today} more later today")
    quiz.append(f" · {dashboard.due_week} by the end of the week")
    if not dashboard.due_now and dashboard.next_due:
        quiz.append(f" · next one due {_when(dashboard.next_due)}")
    parts.append(Panel(quiz, title="quiz", title_align="left", box=box.ROUNDED, border_style="yellow"))

    demos = Text(f"{plural(dashboard.demo_runs, 'run')} recorded")
    if dashboard.last_demo:
        last = dashboard.last_demo
        demos.append(f" · last: {last['demo_id']} on {last['device']} ({last['seconds']:.1f} s, {last['at'][:16].replace('T', ' ')})")
    parts.append(Panel(demos, title="demos", title_align="left", box=box.ROUNDED, border_style="cyan"))
    parts.append(render_next_steps(dashboard))
    return Group(*parts)


def render_import_result(counts: dict[str, int], source: str) -> RenderableType:
    skipped = counts.get("skipped", 0)
    added = {k: v for k, v in counts.items() if k != "skipped"}
    total = sum(added.values())
    text = Text(f"imported from {source}: {plural(total, 'new or updated entry', 'new or updated entries')}", style="green" if total else "")
    details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in added.items() if v)
    if details:
        text.append(f" ({details})", style="dim")
    if skipped:
        text.append(f"; left out {plural(skipped, 'entry', 'entries')} about quiz questions this version no longer asks", style="dim")
    return text


FOLDER_LABELS = {  # doctor's folder rows, named for a learner (the --json keys stay as they are)
    "learner data": "your progress",
    "exercises (starters)": "exercise starters",
}
DATABASE_ROWS = {  # the progress database's tables, as a learner knows what they hold: "{n} ..."
    "sections_read": ("lesson section read", "lesson sections read"),
    "lessons_completed": ("lesson completed", "lessons completed"),
    "exercise_attempts": ("exercise check run", "exercise check runs"),
    "quiz_reviews": ("quiz answer", "quiz answers"),
    "quiz_cards": ("quiz card", "quiz cards"),
    "demo_runs": ("demo run", "demo runs"),
    "hint_state": ("exercise checked", "exercises checked"),  # one row per exercise once checked (its hint ladder)
}


def _count(table: str, rows: int | None) -> str:
    """``1 quiz answer``, ``3 demo runs``; ``quiz answers: unreadable`` for a table that cannot be read."""
    one, many = DATABASE_ROWS.get(table, (table.replace("_", " "), table.replace("_", " ")))
    return f"{many}: unreadable" if rows is None else plural(rows, one, many)


def device_rows(device: dict) -> list[tuple[str, str]]:
    """doctor's device facts in a learner's words: where training runs and why, what PyTorch was built for,
    and whether bf16 arithmetic is in hardware (``native_bf16``). Facts it has no words for are shown as
    they are."""
    left = dict(device)
    name = str(left.pop("name", ""))
    torch_name = str(left.pop("torch", "") or "")
    gpu = left.pop("gpu_name", None)
    rows: list[tuple[str, str]] = []
    where = {"cpu": "the CPU", "cuda": f"the GPU {gpu}" if gpu else "a CUDA GPU", "mps": "the Apple GPU (Metal)"}
    if name in where:
        runs = where[name]
        if torch_name not in ("", name, f"{name}:0"):  # cuda:1: which of several
            runs += f" (PyTorch device {torch_name})"
        rows.append(("training runs on", runs))
    else:
        rows.append(("training runs on", "no usable device"))
    if "reason" in left:
        rows.append(("why", str(left.pop("reason"))))
    if "torch_build" in left:
        build = str(left.pop("torch_build"))
        if build.startswith("CUDA") and name != "cuda":  # "CUDA 13.2" beside "runs on the CPU" read as a contradiction
            build += " (this PyTorch can use an NVIDIA GPU; none is in use here)"
        rows.append(("PyTorch build", build))
    left.pop("cuda_version", None)  # the build line says it
    if "memory_gib" in left:
        rows.append(("GPU memory", f"{left.pop('memory_gib')} GiB"))
    if "count" in left:
        rows.append(("GPUs visible", str(left.pop("count"))))
    if "capability" in left:
        rows.append(("GPU generation", f"compute capability {left.pop('capability')}"))
    if "threads" in left or "cores" in left:
        threads, cores = left.pop("threads", None), left.pop("cores", None)
        said = [plural(cores, "core")] if isinstance(cores, int) else []
        if isinstance(threads, int):
            said.append(f"training uses {plural(threads, 'thread')}")
        rows.append(("CPU", "; ".join(said) or "unknown"))
    if "native_bf16" in left:
        chip = "GPU" if name in ("cuda", "mps") else "CPU"
        if left.pop("native_bf16"):
            rows.append(("bf16 arithmetic", f"in hardware on this {chip} (training uses fp32 unless you pass "
                                             "--precision bf16 or auto)"))
        else:
            rows.append(("bf16 arithmetic", f"not in hardware on this {chip} (training uses fp32)"))
    rows += [(str(key).replace("_", " "), str(value)) for key, value in left.items()]
    return rows


def _size(size: int) -> str:
    """``76 KiB``, ``3.2 MiB``."""
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit != "MiB" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} bytes"  # pragma: no cover


def render_doctor(report: Report) -> RenderableType:
    checks = Table(title="Checks", box=box.SIMPLE_HEAVY, title_justify="left")
    checks.add_column("")
    checks.add_column("check")
    checks.add_column("detail", overflow="fold")
    for c in report.checks:
        checks.add_row(Text("✓", style="green") if c.ok else Text("✗", style="red"), Text(c.name), Text(c.detail))

    device = Table(box=None, show_header=False)
    device.add_column(style="bold")
    device.add_column(overflow="fold")
    for key, value in device_rows(report.device):
        device.add_row(Text(key), Text(value))

    versions = Table(title="Versions", box=box.SIMPLE, title_justify="left", show_header=False)
    versions.add_column(style="bold")
    versions.add_column(overflow="fold")
    for key, value in report.versions.items():
        versions.add_row(Text(key), Text(str(value)))

    folders = Table(title="Folders and data", box=box.SIMPLE, title_justify="left", show_header=False)
    folders.add_column(style="bold")
    folders.add_column(overflow="fold")
    for key, value in report.folders.items():
        folders.add_row(Text(FOLDER_LABELS.get(key, key)), Text(str(value)))
        if key == "exercises (starters)":  # the learner's own copies (`init`), next to the starters
            folders.add_row(Text("your exercises"), Text(report.workspace) if report.workspace else
                            Text("none yet: run `dnn-tutor init` in the folder you want to work in", style="yellow"))
    for key, value in report.datasets.items():
        folders.add_row(Text(f"dataset {key}"), Text(str(value)))

    db = report.database
    if "error" in db:
        db_text = Text(f"{db['path']}\n", style="")
        db_text.append(db["error"], style="red")
    else:
        rows = " · ".join(_count(table, count) for table, count in db["rows"].items())
        healthy = db["integrity"] == "ok" and not db.get("problems") and db["schema_version"] == db["expected_version"]
        state = f"healthy (integrity {db['integrity']})" if healthy else f"integrity {db['integrity']}"
        version = f"format v{db['schema_version']}"
        if db["schema_version"] != db["expected_version"]:
            version += f" (this dnn-tutor expects v{db['expected_version']})"
        db_text = Text(
            f"{db['path']}\n{state} · {journal_words(db['journal_mode'])} · {_size(db['size_bytes'])} · {version}\n"
            f"{rows}"
        )
        for problem in db.get("problems", [])[:10]:
            db_text.append(f"\n✗ {problem}", style="red")
        if db.get("repaired"):
            db_text.append(f"\nrebuilt from the readable rows; the damaged file is kept as {db['repaired']['damaged_copy']}",
                           style="green")
    for warning in db["warnings"]:
        db_text.append(f"\n{warning}", style="yellow")
    return Group(
        Panel(device, title="device", title_align="left", border_style="cyan", box=box.ROUNDED),
        checks,
        versions,
        folders,
        Panel(db_text, title="progress database", title_align="left", box=box.ROUNDED),
        Text("all good" if report.ok else "some checks failed (see ✗ above)", style="green" if report.ok else "red"),
    )


def _when(iso_text: str) -> str:
    """``in 3 hours`` for an ISO time (the quiz's own wording), or the time itself if it won't parse."""
    from tutor.clock import parse_iso
    from tutor.render.quiz import when

    try:
        return when(parse_iso(iso_text))
    except (TypeError, ValueError):
        return iso_text
