"""Commands of this area register on the shared app."""

from tutor.app import app  # noqa: F401
