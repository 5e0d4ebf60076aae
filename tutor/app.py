"""The Typer application object that every command module registers on.

``TutorGroup`` is the one boundary between the commands and the learner:

* a :class:`TutorError` becomes one line on stderr with its exit code;
* a bad option value or an unknown option becomes one line and exit 2;
* every ``OSError`` (name too long, permission, read-only, no space, is or is
  not a folder) becomes one line with the path and the reason, exit 1;
* a closed pipe (``dnn-tutor lesson 1 | head``) ends quietly;
* Ctrl-C exits 130, SIGTERM 143 and SIGHUP 129 (see ``tutor.cli.main``),
  after every ``finally`` block has run.

So no command ever ends in a traceback for something the learner or the
machine did.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer._click.core import Context
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from tutor.errors import TutorError, interrupt_exit_code, interrupt_name, os_error_exit_code, os_error_message, os_error_reason


def _usage_line(exc: UsageError, root: Any = None) -> str:
    import re

    message = " ".join(exc.format_message().split())
    negative = re.fullmatch(r"No such option: (-\d[\d.eE+-]*)", message)
    if negative:  # `lesson -1`: said "No such option: -1", as if a number were an option
        message = f"{negative.group(1)}: negative numbers are not valid here (a word starting with - reads as an option)"
    ctx = exc.ctx
    while ctx is not None and ctx.parent is not None and getattr(ctx.command, "hidden", False):
        ctx = ctx.parent  # a hidden default command (`grade` runs `grade run`): point at what the learner typed
    path = ctx.command_path if ctx is not None else _typed_command(root)
    return f"{message} (see `{path} --help`)"


def _typed_command(root: Any) -> str:
    """``dnn-tutor demo`` for `dnn-tutor demo xor --seed` (an option's parser error carries no context): the
    group's path and the command it was starting."""
    path = getattr(root, "command_path", "") or "dnn-tutor"
    name = getattr(root, "invoked_subcommand", None)
    sub = getattr(getattr(root, "command", None), "commands", {}).get(name) if name else None
    return f"{path} {name}" if sub is not None and not getattr(sub, "hidden", False) else path


def _silence_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _say(message: str) -> None:
    """One line on stderr, even when stderr itself is gone (a closed terminal)."""
    from tutor import console

    try:
        console.error_line(message)
    except (OSError, ValueError):
        pass


class TutorGroup(TyperGroup):
    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:  # a bad option before any command, e.g. `dnn-tutor --colour`
            _say(_usage_line(exc))
            raise typer.Exit(2) from None
        except BrokenPipeError:  # `dnn-tutor --help | true`: click would exit 1, as for a failure
            _silence_stdout()
            raise typer.Exit(0) from None

    def invoke(self, ctx: Context) -> Any:
        import sqlite3

        from tutor import console

        try:
            return super().invoke(ctx)
        except TutorError as exc:
            _say(exc.message)
            raise typer.Exit(exc.exit_code) from None
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            _say(_usage_line(exc, ctx))
            raise typer.Exit(2) from None
        except KeyboardInterrupt as exc:
            code = interrupt_exit_code(exc)
            how = "interrupted" if code == 130 else f"stopped by {interrupt_name(code)}"
            from tutor.terminal_menu import show_cursor

            show_cursor()  # a second Ctrl-C can cut short the clean-up that shows it again
            try:
                lead = "\n" if console.stderr_is_terminal() else ""  # past the ^C the terminal echoed; one line elsewhere
                console.err(f"{lead}{how}: anything already saved is kept.", markup=False)
            except (OSError, ValueError):
                pass
            raise typer.Exit(code) from None
        except BrokenPipeError as exc:  # a closed pipe: 0, unless the command had a verdict (ReaderGone)
            _silence_stdout()
            raise typer.Exit(getattr(exc, "exit_code", 0)) from None
        except OSError as exc:
            stream = _standard_stream(exc) if exc.filename is None else None
            _say(f"could not write to {stream}: {os_error_reason(exc)}" if stream else os_error_message(exc))
            raise typer.Exit(os_error_exit_code(exc)) from None
        except sqlite3.Error as exc:
            _say(f"the progress database could not be used: {exc}; run `dnn-tutor doctor`")
            raise typer.Exit(1) from None

    def list_commands(self, ctx: Context) -> list[str]:
        # Keep the order in which commands were registered (a learner's path
        # through the tool), not alphabetical.
        return list(self.commands)


def _standard_stream(exc: BaseException) -> str | None:
    """"standard output" (or error) where ``exc`` came from writing to it (``> /dev/full``: a full disk that is
    not the learner's files), read from the writers in its traceback; None otherwise."""
    names = {1: "standard output", 2: "standard error"}
    found = getattr(exc, "stream", None)  # said by the writer itself (emit_json)
    tb = exc.__traceback__
    while tb is not None and found is None:
        writer = tb.tb_frame.f_locals.get("self")
        for candidate in (getattr(writer, "file", None), writer):
            try:
                number = candidate.fileno() if candidate is not None else None
            except Exception:  # noqa: BLE001 - anything without a descriptor is not a standard stream
                continue
            if number in names:
                found = names[number]
                break
        tb = tb.tb_next
    return found


app = typer.Typer(
    name="dnn-tutor",
    cls=TutorGroup,
    help="Learn deep neural networks in the terminal: lessons, graded exercises, live demos and a quiz.",
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
