"""Copying starters into a learner's folder (``init``) and restoring one (``reset``).

Nothing the learner wrote is overwritten without a copy: ``init`` skips files
that exist, and ``reset`` copies the old file to ``exercises/.backups/`` first.
Never prints.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tutor.errors import TutorError
from tutor.grading.catalogue import ExerciseInfo, load


@dataclass
class Copied:
    name: str
    path: Path
    action: str  # "copied" or "kept"


def init(directory: Path) -> list[Copied]:
    """Copy every starter into ``directory/exercises``; existing files are kept untouched."""
    target = Path(directory) / "exercises"
    if target.exists() and not target.is_dir():
        raise TutorError(f"{target} exists and is not a folder")
    target.mkdir(parents=True, exist_ok=True)
    done = []
    for info in load().values():
        source = info.starter()
        if not source.is_file():
            raise TutorError(f"the starter {source} is missing from this installation")
        dest = target / info.file
        if dest.exists():
            done.append(Copied(info.file, dest, "kept"))
            continue
        shutil.copyfile(source, dest)
        done.append(Copied(info.file, dest, "copied"))
    return done


def default_file(info: ExerciseInfo, base: Path | None = None) -> Path:
    return (base or Path.cwd()) / "exercises" / info.file


def reset(info: ExerciseInfo, file: Path) -> Path | None:
    """Restore the starter into ``file``; return where the old file was backed up (None if there was none)."""
    file = Path(file)
    if not info.starter().is_file():
        raise TutorError(f"the starter {info.starter()} is missing from this installation")
    backup = None
    if file.exists():
        if not file.is_file():
            raise TutorError(f"{file} is not a file")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        backups = file.parent / ".backups"
        backups.mkdir(parents=True, exist_ok=True)
        backup = backups / f"{file.stem}-{stamp}{file.suffix}"
        shutil.copy2(file, backup)
    else:
        file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(info.starter(), file)
    return backup
