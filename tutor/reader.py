"""The interactive lesson reader: one section at a time, single keys to move.

Only used when stdin and stdout are terminals. Keys: n next, b back, j jump,
r run the section's demo/exercise/checkpoint, q quit (arrow keys and Enter work
too). Each section shown is recorded in the progress store before the prompt,
so Ctrl-C keeps it.
"""

from __future__ import annotations

import subprocess
import sys

from tutor import console
from tutor.commands.common import open_store
from tutor.lessons import Block, Lesson


def _registered_commands() -> set[str]:
    from tutor.app import app

    names = set()
    for info in app.registered_commands:
        names.add(info.name or info.callback.__name__.replace("_", "-"))
    for group in app.registered_groups:
        if group.name:
            names.add(group.name)
    return names


def runnable_blocks(blocks: tuple[Block, ...]) -> list[Block]:
    """Special blocks whose command exists in this installation."""
    available = _registered_commands()
    return [b for b in blocks if b.command and b.command[0] in available]


def _ask(message: str, choices: list[tuple[str, str, str | None]], instruction: str) -> str:
    """A select prompt where each choice's key acts at once. Returns the chosen value.

    ``choices`` holds (title, value, key) triples. Ctrl-C raises KeyboardInterrupt.
    """
    import questionary
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

    question = questionary.select(
        message,
        choices=[questionary.Choice(title, value=value) for title, value, _ in choices],
        instruction=instruction,
        qmark="›",
    )
    direct = KeyBindings()
    for _, value, key in choices:
        if key:

            @direct.add(key, eager=True)
            def _pick(event, value=value):
                event.app.exit(result=value)

    app = question.application
    app.key_bindings = merge_key_bindings([app.key_bindings, direct])
    return question.unsafe_ask()


def _jump(lesson: Lesson, current: int) -> int:
    choices = [
        (f"{s.index}. {s.title}", str(s.index), str(s.index) if s.index < 10 else None) for s in lesson.sections
    ]
    choices.append(("cancel", str(current), "c"))
    return int(_ask("Jump to section", choices, "(number or arrows + Enter)"))


def _run_block(block: Block) -> None:
    from pathlib import Path

    if block.kind == "exercise":
        target = Path(block.command[1])
        if not target.exists():
            console.warning_line(f"{target} is not here; run 'dnn-tutor init' to copy the starter exercises first")
            return
    argv = [sys.executable, "-m", "tutor", *block.command]
    console.out(f"[dim]$ dnn-tutor {' '.join(block.command)}[/dim]")
    try:
        subprocess.run(argv, check=False)
    except KeyboardInterrupt:
        console.out("[dim](stopped; back to the lesson)[/dim]")


def read_interactively(lesson: Lesson, start: int | None = None) -> None:
    from tutor.render.lessons import render_lesson_header, render_section

    total = len(lesson.sections)
    with open_store() as store:
        if start is None:
            read = store.sections_read(lesson.id).get(lesson.id, set())
            start = next((i for i in range(1, total + 1) if i not in read), 1)
    index = start
    console.out(render_lesson_header(lesson))
    show = True
    while True:
        section = lesson.sections[index - 1]
        if show:
            # Record first, so a Ctrl-C while the learner reads keeps the section.
            with open_store() as store:
                completed = store.mark_section_read(lesson.id, index, total)
            console.out("")
            console.out(render_section(lesson, section))
            if completed:
                console.out(f"[green]✓ you have read every section: lesson {lesson.number} is complete[/green]")
        show = True

        choices: list[tuple[str, str, str | None]] = []
        if index < total:
            choices.append((f"next: {lesson.sections[index].title}", "next", "n"))
        else:
            choices.append(("finish this lesson", "quit", "n"))
        if index > 1:
            choices.append((f"back: {lesson.sections[index - 2].title}", "back", "b"))
        choices.append(("jump to a section…", "jump", "j"))
        runnable = runnable_blocks(section.blocks)
        for position, block in enumerate(runnable):
            choices.append((f"run: dnn-tutor {' '.join(block.command)}", f"run:{position}", "r" if position == 0 else None))
        choices.append(("quit", "quit", "q"))

        keys = "n next · b back · j jump" + (" · r run" if runnable else "") + " · q quit"
        action = _ask(f"Lesson {lesson.number} · section {index}/{total}", choices, f"({keys})")
        if action == "next":
            index += 1
        elif action == "back":
            index -= 1
        elif action == "jump":
            target = _jump(lesson, index)
            show = target != index  # "cancel" keeps the page as it is
            index = target
        elif action.startswith("run:"):
            _run_block(runnable[int(action.split(":", 1)[1])])
            show = False
        else:
            console.out("[dim]dnn-tutor shows the course map and your next step.[/dim]")
            return
