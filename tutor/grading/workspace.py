"""The learner's workspace: copying starters into it (``init``) and restoring one (``reset``).

Learner files live in ``DIR/exercises`` made by ``dnn-tutor init [DIR]``; the
package's own starters (``exercises/`` at the root of a source checkout, or
inside the installed package) are never graded as an attempt, reset or
written. Nothing the learner wrote is overwritten without a copy: ``init``
skips files that exist (and never writes through a link), ``reset`` copies the
old file to ``exercises/.backups/`` first. Every file is written whole or not
at all. Never prints.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tutor import paths
from tutor.errors import TutorError
from tutor.fsutil import current_umask
from tutor.grading.text import visible
from tutor.grading.catalogue import ExerciseInfo, for_name, load

WORK_ELSEWHERE = "run `dnn-tutor init DIR` and work on the copies in DIR/exercises"


@dataclass(frozen=True)
class Copied:
    name: str
    path: Path
    action: str  # "copied", "kept" (a file was there) or "skipped-link" (a link was there: not followed)


def starters_dir() -> Path:
    return paths.exercises_dir().resolve()


def is_shipped(path: Path) -> bool:
    """True for a file or folder inside the package's own exercise folder (links resolved)."""
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):
        return False
    shipped = starters_dir()
    return resolved == shipped or resolved.is_relative_to(shipped)


def refuse_shipped(path: Path, doing: str) -> None:
    """One line telling the learner not to work in the package's own starters."""
    if is_shipped(path):
        raise TutorError(f"{visible(path)} is one of dnn-tutor's own starter files; it is not {doing}: {WORK_ELSEWHERE}")


def _create_new(dest: Path, data: bytes) -> bool:
    """Write ``dest`` whole, only if nothing (not even a dangling link) is there. False if something was."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".dnn-tutor-", suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise _named(exc, dest) from None
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:  # a full disk: the OS names no file
            raise _named(exc, dest) from None
        os.chmod(tmp, 0o644 & ~current_umask())
        try:
            os.link(tmp, dest)  # fails if dest exists in any form; never follows a link
        except FileExistsError:
            return False
        return True
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass



def _named(exc: OSError, path: Path) -> OSError:
    """``exc`` naming ``path`` (the file being made, not a temporary one) where it names none."""
    return exc if exc.filename is not None else type(exc)(exc.errno, exc.strerror or str(exc), str(path))


WORKSPACE_NOTE = "workspace.txt"  # in the learner's data folder: where `init` last put the exercises


def remember(folder: Path) -> None:
    """Note where ``init`` put the exercises (most recent first, ten at most), for a "no such file" run from
    another folder (best effort)."""
    from tutor.fsutil import atomic_write_text

    try:
        here = str(Path(folder).resolve())
        kept = [str(p) for p in remembered(existing_only=False) if str(p) != here]
        atomic_write_text(paths.home_dir() / WORKSPACE_NOTE, "\n".join([here, *kept][:10]) + "\n")
    except (OSError, TutorError, ValueError):
        pass


def remembered(existing_only: bool = True) -> list[Path]:
    """The exercises folders ``init`` made, most recent first (those still there)."""
    try:
        with open(paths.home_dir() / WORKSPACE_NOTE, encoding="utf-8") as handle:
            lines = handle.read(65536).splitlines()
    except (OSError, TutorError, ValueError):
        return []
    found = []
    for text in lines[:10]:
        folder = Path(text.strip())
        try:
            if text.strip() and folder.is_absolute() and (folder.is_dir() or not existing_only):
                found.append(folder)
        except (OSError, ValueError):
            continue
    return found


def find_elsewhere(path: Path) -> Path | None:
    """The learner's copy of the exercise file ``path`` names, where ``path`` itself is not it: in the folder they
    are in (or its exercises/), else in a workspace ``init`` made (one with their own work in it before one that
    holds the starter). None when there is none. An exercise id stands for its file (``backprop``)."""
    path = Path(path)
    info = for_name(path.name)
    name = info.file if info is not None else path.name if path.suffix else f"{path.name}.py"
    try:
        here = Path.cwd()
    except OSError:
        here = None
    tries: list[Path] = [here / name, here / "exercises" / name] if here is not None else []
    elsewhere = [folder / name for folder in remembered()]
    if info is not None:
        elsewhere.sort(key=lambda candidate: holds_starter(info, candidate))
    for candidate in tries + elsewhere:
        try:
            if candidate.is_file() and candidate.resolve() != path.resolve() and not is_shipped(candidate):
                return candidate
        except (OSError, RuntimeError):
            continue
    return None


def check_path(file: str) -> str:
    """The path to type in ``dnn-tutor check PATH`` for an exercise file from where the learner is:
    ``exercises/<file>`` when it is here, else the copy a workspace ``init`` made (relative where it can be)."""
    import shlex

    here = Path("exercises") / file
    try:
        found = None if here.is_file() else find_elsewhere(here)
    except OSError:
        found = None
    if found is None:
        return shlex.quote(here.as_posix())
    try:
        return shlex.quote(found.relative_to(Path.cwd()).as_posix())
    except (OSError, ValueError):
        return shlex.quote(str(found))


def here_folder() -> Path | None:
    """``./exercises`` when it is a learner's workspace (a folder that is not dnn-tutor's own starters), else None."""
    folder = Path("exercises")
    try:
        return folder if folder.is_dir() and not is_shipped(folder) else None
    except OSError:
        return None


def workspace_folder() -> Path | None:
    """The learner's exercises folder: ``./exercises`` when it is one, else the one ``init`` made last (None
    before the first ``init``)."""
    here = here_folder()
    if here is not None:
        return here
    return next((folder for folder in remembered() if not is_shipped(folder)), None)


def learner_copy(info: ExerciseInfo) -> Path | None:
    """The learner's file for ``info`` as :func:`check_path` finds it from where they are: ``exercises/<file>``
    here, else a copy in a workspace ``init`` made (None when there is none)."""
    here = Path("exercises") / info.file
    try:
        if here.is_file() and not is_shipped(here):
            return here
    except OSError:
        pass
    return find_elsewhere(here)


def missing_file(path: Path) -> TutorError:
    """"no such file", saying where the learner's file is (:func:`find_elsewhere`), or how to get one."""
    found = find_elsewhere(path)
    if found is None:
        if here_folder() is not None:  # a workspace here, without this file: a typo, or a file deleted
            return TutorError(f"no such file: {visible(path)} (`dnn-tutor exercises` lists the exercise files; "
                              f"`dnn-tutor init` copies back any starter that is missing)")
        info = for_name(Path(path).name)
        then = f"exercises/{info.file}" if info is not None else "exercises/<id>.py"
        return TutorError(f"no such file: {visible(path)} (run `dnn-tutor init` to copy the starters into "
                          f"./exercises, then `dnn-tutor check {then}`)")
    try:
        shown = found.relative_to(Path.cwd())
    except (OSError, ValueError):
        shown = found
    return TutorError(f"no such file: {visible(path)} (did you mean `dnn-tutor check {visible(shown)}`?)")


def init(directory: Path) -> list[Copied]:
    """Copy every starter into ``directory/exercises``; existing files and links are kept untouched."""
    target = Path(directory) / "exercises"
    if target.is_symlink():
        raise TutorError(f"{visible(target)} is a link; init does not follow links out of its folder: remove it or choose another folder")
    if target.exists() and not target.is_dir():
        raise TutorError(f"{visible(target)} exists and is not a folder")
    if is_shipped(target):
        raise TutorError(f"{visible(target)} is dnn-tutor's own exercise folder; {WORK_ELSEWHERE.replace('run ', 'choose another DIR: ', 1)}")
    target.mkdir(parents=True, exist_ok=True)
    done = []
    for info in load().values():
        source = info.starter()
        if not source.is_file():
            raise TutorError(f"the starter {visible(source)} is missing from this installation")
        dest = target / info.file
        if dest.is_symlink():
            done.append(Copied(info.file, dest, "skipped-link"))
        elif _create_new(dest, source.read_bytes()):
            done.append(Copied(info.file, dest, "copied"))
        else:
            done.append(Copied(info.file, dest, "kept"))
    remember(target)
    return done


def default_file(info: ExerciseInfo, base: Path | None = None) -> Path:
    """``exercises/<id>.py`` in ``base`` (the current folder), which must be a workspace."""
    folder = (base or Path.cwd()) / "exercises"
    if not folder.is_dir():
        raise TutorError(f"there is no exercises/ folder in {visible(folder.parent)}: run reset in the folder where you ran `dnn-tutor init`, or pass --file")
    return folder / info.file


def _backup(file: Path) -> Path:
    from tutor.clock import file_stamp

    backups = file.parent / ".backups"
    if backups.is_symlink():
        raise TutorError(f"{visible(backups)} is a link; reset does not write through links")
    if backups.exists() and not backups.is_dir():  # mkdir would say only "it already exists"
        raise TutorError(f"{visible(backups)} is a file, not a folder: move it away so reset can keep your file there")
    backups.mkdir(exist_ok=True)
    data = file.read_bytes()
    stamp = file_stamp()
    for counter in range(1000):
        name = f"{file.stem}-{stamp}{'' if counter == 0 else f'-{counter}'}{file.suffix}"
        if _create_new(backups / name, data):
            return backups / name
    raise OSError(errno.EEXIST, "no free backup name", str(backups))


def holds_starter(info: ExerciseInfo, file: Path) -> bool:
    """Whether ``file`` is a regular file (not a link) with exactly the starter's bytes: reset has nothing to do."""
    file = Path(file)
    try:
        return not file.is_symlink() and file.is_file() and file.read_bytes() == info.starter().read_bytes()
    except OSError:
        return False


def reset(info: ExerciseInfo, file: Path) -> Path | None:
    """Restore the starter into ``file``; return where the old file was backed up (None if there was none)."""
    from tutor.fsutil import atomic_write_bytes

    file = Path(file)
    starter = info.starter()
    if not starter.is_file():
        raise TutorError(f"the starter {visible(starter)} is missing from this installation")
    refuse_shipped(file, "reset")
    if not file.parent.is_dir():
        raise TutorError(f"{visible(file.parent)} is not a folder: pass a --file in an existing folder")
    backup = None
    if file.is_symlink():
        raise TutorError(f"{visible(file)} is a link; reset does not write through links")
    if file.exists():
        if not file.is_file():
            raise TutorError(f"{visible(file)} is not a file")
        backup = _backup(file)
    atomic_write_bytes(file, starter.read_bytes())
    return backup
