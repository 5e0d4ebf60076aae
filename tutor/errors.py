"""Errors that the command line turns into one line on stderr and an exit code."""

from __future__ import annotations


class TutorError(Exception):
    """A problem the learner can fix: printed as one line, never as a traceback.

    ``exit_code`` follows the CLI convention: 2 for usage errors (bad arguments,
    unknown ids, missing files), 1 for a command that ran but did not succeed.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(TutorError):
    def __init__(self, message: str):
        super().__init__(message, exit_code=2)
