"""The Typer application object that every command module registers on.

``TutorGroup`` turns a :class:`TutorError` into one line on stderr with its
exit code, and Ctrl-C into exit 130, so no command ever ends in a traceback
for something the learner did.
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from tutor.errors import TutorError


class TutorGroup(TyperGroup):
    def invoke(self, ctx: typer.Context):
        from tutor import console

        try:
            return super().invoke(ctx)
        except TutorError as exc:
            console.error_line(exc.message)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            console.err("\ninterrupted: what was saved is kept.")
            raise typer.Exit(130) from None

    def list_commands(self, ctx: typer.Context):
        # Keep the order in which commands were registered (a learner's path
        # through the tool), not alphabetical.
        return list(self.commands)


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
