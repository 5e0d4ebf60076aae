"""Where things live: shipped content (lessons, exercises, data) and learner state.

Content is found inside the installed package (``tutor/_content``, put there
when the wheel is built) or, in a source checkout, at the repository root.
Learner state lives in the platformdirs user data dir unless ``DNN_TUTOR_HOME``
says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "dnn-tutor"
_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE_DIR.parent


def content_dir(name: str) -> Path:
    """The shipped folder ``name`` ("lessons", "exercises" or "data")."""
    packaged = _PACKAGE_DIR / "_content" / name
    if packaged.is_dir():
        return packaged
    return _REPO_ROOT / name


def lessons_dir() -> Path:
    override = os.environ.get("DNN_TUTOR_LESSONS")
    return Path(override) if override else content_dir("lessons")


def exercises_dir() -> Path:
    return content_dir("exercises")


def data_dir() -> Path:
    return content_dir("data")


def expand_user(path: str | os.PathLike[str]) -> Path:
    """``~`` and ``~user`` expanded. Where that home does not exist (``~nosuchuser/x``) one clear
    error, never a RuntimeError, and never a folder literally named ``~nosuchuser`` made here."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        from tutor.errors import TutorError

        first = Path(path).parts[0] if Path(path).parts else str(path)
        raise TutorError(f"{path}: there is no home folder for {first} on this machine", exit_code=2) from None


def home_dir() -> Path:
    """The learner's data directory (progress database, backups, settings)."""
    override = os.environ.get("DNN_TUTOR_HOME")
    if override is not None and override and not override.strip():
        from tutor.errors import TutorError

        raise TutorError(f"DNN_TUTOR_HOME is {override!r}: give a folder (or unset it for the usual place)")
    if override:
        path = Path(os.path.abspath(expand_user(override)))  # shown and kept absolute: a later `cd` changes nothing
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir(APP_NAME, appauthor=False))
    return _folder(path, "DNN_TUTOR_HOME" if override else "the learner data folder")


def _folder(path: Path, name: str) -> Path:
    """Create ``path`` if needed; a file in its place is one clear error, not a traceback."""
    from tutor.errors import TutorError

    if path.is_symlink() and not path.exists():
        raise TutorError(f"{name} points at {path}, a link that leads nowhere (or round in a loop)", exit_code=2)
    if path.exists() and not path.is_dir():
        raise TutorError(f"{name} points at {path}, which is a file, not a folder", exit_code=2)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise TutorError(f"{name} points at {path}, which is a file, not a folder", exit_code=2) from None
    except NotADirectoryError:
        raise TutorError(f"{name} is {path}, but a part of that path is a file, not a folder", exit_code=2) from None
    return path


def cache_dir() -> Path:
    """Downloaded datasets and pretrained weights (``DNN_TUTOR_CACHE`` overrides)."""
    override = os.environ.get("DNN_TUTOR_CACHE")
    if override is not None and override and not override.strip():
        from tutor.errors import TutorError

        raise TutorError(f"DNN_TUTOR_CACHE is {override!r}: give a folder (or unset it for the usual place)")
    if override:
        path = Path(os.path.abspath(expand_user(override)))
    elif os.environ.get("DNN_TUTOR_HOME"):
        path = home_dir() / "cache"
    else:
        from platformdirs import user_cache_dir

        path = Path(user_cache_dir(APP_NAME, appauthor=False))
    return _folder(path, "DNN_TUTOR_CACHE" if override else "the cache folder")


def progress_db_path() -> Path:
    return home_dir() / "progress.db"
