"""File-system helpers that never lose a learner's file.

* :func:`atomic_write_text` / :func:`atomic_write_bytes`: write beside the target
  under a unique temporary name, flush it to disk, then rename over the target,
  so a crash or a full disk leaves either the old file or the new one.
* :func:`backup_path`: reserve a backup name that can never collide (UTC time to
  the microsecond, then a counter, the file created with ``O_EXCL``).
  :func:`backup_copy` and :func:`move_aside` build on it.
* :func:`read_regular_bytes`: read a regular file up to a size cap; a FIFO, a
  device (``/dev/zero``) or a folder is refused before a byte is read.

Errors from the operating system are raised as ``OSError`` (the command line
turns them into one line naming the path); refusals are :class:`TutorError`.
Never prints.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable

from tutor.clock import file_stamp
from tutor.errors import TutorError


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Replace ``path`` with ``data`` all at once; the old file stays if anything fails."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    try:
        _write_and_replace(path, data)
    except OSError as exc:
        # Name the file the learner asked for, not the temporary one (and a write that
        # ran out of space, which the OS reports without any name).
        raise type(exc)(exc.errno, exc.strerror or str(exc), str(path)) from None
    _fsync_dir(path.parent)
    return path


def _write_and_replace(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            try:
                shutil.copymode(path, tmp)
            except OSError:
                pass
        else:
            os.chmod(tmp, 0o644 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))


def current_umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def backup_path(path: Path | str, tag: str = "bak") -> Path:
    """Reserve ``<name>.<tag>-<UTC stamp>[-n]`` beside ``path`` and return it.

    The name is created empty with ``O_CREAT | O_EXCL``, so two backups made in
    the same microsecond (or by two processes) get two different names.
    """
    path = Path(path)
    base = f"{path.name}.{tag}-{file_stamp()}"
    # Stay under the usual 255-byte limit on a file name.
    if len(base.encode("utf-8")) > 240:
        base = f"{tag}-{file_stamp()}"
    for counter in range(1000):
        candidate = path.with_name(base if counter == 0 else f"{base}-{counter}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(errno.EEXIST, "no free backup name", str(path))


def backup_copy(path: Path | str, tag: str = "bak") -> Path:
    """Copy ``path`` to a fresh backup name (see :func:`backup_path`) and return it."""

    def copy(source: Path, target: Path) -> None:
        shutil.copyfile(source, target)
        shutil.copystat(source, target)

    return _to_backup(Path(path), tag, copy)


def move_aside(path: Path | str, tag: str) -> Path:
    """Rename ``path`` to a fresh backup name (see :func:`backup_path`) and return it."""
    return _to_backup(Path(path), tag, os.replace)


def _to_backup(path: Path, tag: str, action: Callable[[Path, Path], object]) -> Path:
    """Reserve a backup name and ``action(path, name)`` into it; a failure leaves no stray name."""
    target = backup_path(path, tag)
    try:
        action(path, target)
    except BaseException as exc:
        try:
            target.unlink()
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.filename is None:  # a full disk: the OS names no file
            raise type(exc)(exc.errno, exc.strerror or str(exc), str(target)) from None
        raise
    return target


def read_regular_bytes(path: Path | str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``.

    Opened without blocking (a FIFO with no writer does not hang) and checked
    with ``fstat`` on the open descriptor before anything is read.
    """
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise TutorError(f"{path} is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise TutorError(f"{path} is not a regular file (a pipe, socket or device); give a file")
        if info.st_size > max_bytes:
            raise TutorError(f"{path} is {info.st_size:,} bytes; the limit is {max_bytes:,}")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            except OSError as exc:  # /proc/self/mem and the like: say which file, and that it is not one to read
                raise TutorError(f"cannot read {path}: {(exc.strerror or str(exc)).lower()} "
                                 "(is it a real file? give the file you wrote)", exit_code=1) from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:  # the file grew while we read it
                raise TutorError(f"{path} is larger than the limit of {max_bytes:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)  # a folder, never via a link


def remove_tree(path: Path | str) -> bool:
    """Remove a folder and everything in it, however deep; never follows a link. Returns True when it is gone.

    ``shutil.rmtree`` recurses once per level and works from full paths, so learner code that nests
    3,000 folders in its run folder makes it raise ``RecursionError`` (and paths grow past PATH_MAX).
    Here one directory descriptor walks down and back up the tree, however deep, with a handful of
    descriptors open. A folder without permissions (to list, enter, or remove from) gets them first,
    as the owner may; what still cannot be removed is left and the rest goes. Never raises.
    """
    path = os.fspath(path)
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return True
        fd = _open_dir(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    names: list[str] = []  # the way down from `path` to the folder `fd` is open on
    stuck: set[tuple[int, int]] = set()  # folders that could not be emptied or removed: not entered again
    try:
        while True:
            try:
                sub = _empty_but_folders(fd, stuck)
            except OSError:
                sub = None
                stuck.add(_identity(fd))
            if sub is not None:
                try:
                    child = _open_dir(sub, dir_fd=fd)
                except OSError:
                    stuck.add(_identity_at(fd, sub))
                    continue
                os.close(fd)
                fd = child
                names.append(sub)
                continue
            if not names:
                break
            here = _identity(fd)
            fd = _up(fd)
            name = names.pop()
            try:
                _retry_writable(fd, os.rmdir, name)
            except OSError:
                stuck.add(here)
    except (OSError, RecursionError):
        return False
    finally:
        _close_quietly(fd)
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def _identity(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def _identity_at(fd: int, name: str) -> tuple[int, int]:
    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    return info.st_dev, info.st_ino


def _retry_writable(fd: int, action: Callable[..., object], name: str) -> None:
    """``action(name, dir_fd=fd)`` (unlink, rmdir); refused, the folder gets write permission and it runs again."""
    try:
        action(name, dir_fd=fd)
    except PermissionError:
        os.fchmod(fd, 0o700)
        action(name, dir_fd=fd)


def _open_dir(name: str, dir_fd: int | None = None) -> int:
    """Open a folder, never through a link; one without read or search permission gets it (the run folder is
    ours to walk and remove)."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        os.chmod(name, 0o700, dir_fd=dir_fd)
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)


def _up(fd: int) -> int:
    """The folder above the one open on ``fd``, opened; ``fd`` is closed."""
    parent = os.open("..", _DIR_FLAGS & ~os.O_NOFOLLOW, dir_fd=fd)
    os.close(fd)
    return parent


def _empty_but_folders(fd: int, stuck: set[tuple[int, int]]) -> str | None:
    """Unlink every non-folder entry of the folder open on ``fd``; return the name of a sub-folder
    still to remove, if any (none of those in ``stuck``)."""
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                if (info.st_dev, info.st_ino) not in stuck:
                    return entry.name
                continue
            try:
                _retry_writable(fd, os.unlink, entry.name)
            except FileNotFoundError:
                pass
    return None


def tree_over(path: Path | str, max_bytes: int, max_entries: int) -> bool:
    """Whether the folder ``path`` holds more than ``max_bytes`` (blocks in use) or ``max_entries`` entries,
    however deep. Links are not followed; the walk stops as soon as either limit is passed, so a folder
    of a million files costs no more than ``max_entries`` steps.

    As :func:`remove_tree`, one directory descriptor walks down and back up: a walk by full paths costs
    time in the square of the depth (3,000 nested folders: a third of a second a scan, while learner code
    runs) and sees nothing past PATH_MAX, where learner code could then hide what it writes. A folder
    without permissions gets them (the run folder is ours), so a locked one hides nothing either. The
    walk goes back up only to the folder it came from (checked by identity): a folder moved while it is
    walked ends the walk, never leads it out."""
    try:
        fd = os.open(os.fspath(path), _DIR_FLAGS)
    except OSError:
        return False
    used, entries = 0, 0
    pending: list[list[str]] = []  # for each folder from the top down to fd's: the sub-folders still to walk
    above: list[tuple[int, int]] = []  # the identity of each folder above fd's
    try:
        while True:
            folders: list[str] = []
            try:
                with os.scandir(fd) as listing:
                    for entry in listing:
                        entries += 1
                        if entries > max_entries:
                            return True
                        try:
                            info = entry.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        used += getattr(info, "st_blocks", 0) * 512 or info.st_size
                        if used > max_bytes:
                            return True
                        if stat.S_ISDIR(info.st_mode):
                            folders.append(entry.name)
            except OSError:
                pass
            pending.append(folders)
            while True:  # the next folder to list: a sub-folder here, or one of a folder above
                while pending[-1]:
                    try:
                        child = _open_dir(pending[-1].pop(), dir_fd=fd)
                    except OSError:
                        continue
                    above.append(_identity(fd))
                    os.close(fd)
                    fd = child
                    break
                else:
                    pending.pop()
                    if not pending:
                        return False
                    fd = _up(fd)
                    if _identity(fd) != above.pop():
                        return False
                    continue
                break
    except OSError:
        return False
    finally:
        _close_quietly(fd)


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def check_output_file(path: Path | str, *, option: str, force: bool = False) -> Path:
    """A file a command is about to write: refuse what must never be written over.

    Refused, each in one line naming ``option``: a folder; something that is not a regular file (a
    device such as /dev/null, a pipe, a socket: as root, replacing one breaks the system); a link
    (to nothing, writing would create its target elsewhere; to a file, the write would either go
    there without a backup or replace the link); a missing folder or a path through
    a file; the progress database and the files SQLite keeps beside it; and an existing file unless
    ``force`` (the caller then keeps a copy first).
    """
    path = Path(path)
    shown = str(path) if len(str(path)) <= 80 else str(path)[:77] + "..."
    if str(path) == "-":  # where it means standard output the command says so before calling here
        raise TutorError(f"{option} -: this writes a file (atomically, with a copy of the old one); give a file name")
    _refuse_progress_files(path, option)  # first: the most telling refusal (a link to it is one too)
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # the folder's turn, below
        info = None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            # Written through, a link puts the output somewhere else with no backup; replaced, it is lost
            # (as root, /dev/stdout is such a link). Either way not what the name says: refused.
            try:
                os.stat(path)
            except OSError:
                raise TutorError(f"{option} {shown} is a link to a file that does not exist; give a file name") from None
            raise TutorError(f"{option} {shown} is a link; give the file itself (or another name)")
        if stat.S_ISDIR(info.st_mode):
            raise TutorError(f"{option} {shown} is a folder; give a file name")
        if not stat.S_ISREG(info.st_mode):
            raise TutorError(f"{option} {shown} is not a regular file (a device, pipe or socket); give a file name")
    else:
        parent = path.parent
        if not parent.is_dir():
            state = "is a file, not a folder" if parent.exists() else "does not exist"
            raise TutorError(f"{option} {shown}: the folder {parent} {state}")
    if info is not None and not force:
        raise TutorError(f"{option} {shown} exists; pass --force to replace it (a copy is kept), or choose another name")
    return path


def _refuse_progress_files(target: Path, option: str) -> None:
    """Never write over the progress database or the files SQLite keeps beside it."""
    from tutor import paths

    database = paths.progress_db_path()
    try:
        resolved = target.resolve()
        folder = database.parent.resolve()
    except (OSError, RuntimeError):
        return
    own = {database.name + suffix for suffix in ("", "-wal", "-shm", "-journal", ".pending")}
    same = False
    try:
        same = target.exists() and database.exists() and target.samefile(database)  # a link to it
    except OSError:
        pass
    if same or (resolved.parent == folder and resolved.name in own):
        raise TutorError(f"{option} {target} is the progress database (or a file it keeps beside it); give another file name")


def regular_files(folder: Path | str, accept: Callable[[str], bool]) -> list[Path]:
    """The regular files (not links, FIFOs or folders) in ``folder`` whose names ``accept`` takes, by name;
    [] when the folder cannot be listed."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in sorted(names):
        if not accept(name):
            continue
        path = Path(folder) / name
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                found.append(path)
        except OSError:
            continue
    return found
