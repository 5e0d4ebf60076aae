"""The child's side of containing a learner's code; loaded by path by :mod:`worker` (stdlib only).

Everything here runs before the learner's code, in this order: the parent
death signal, the imports (numpy, torch when asked), hard resource limits, a
Landlock ruleset (writes only inside the run's own temporary folder, no TCP,
no signals or abstract sockets outside this process tree), every capability
dropped, and at-fork hooks so forked children die with their parent. Each
step is best effort on kernels that lack it; the "ready" frame tells the
parent which ones took effect.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SYS_LANDLOCK_CREATE_RULESET = 444  # the same number on every architecture but alpha
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_RULE_PATH_BENEATH = 1
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
# Read everywhere a Python program and its libraries may look; a class folder is usually under
# /home or /tmp, which are left out (with everything else not named here).
SYSTEM_READ_ROOTS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev",
                     "/opt", "/nix", "/gnu", "/snap")
_FS_WRITES_V1 = sum(1 << bit for bit in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))  # write, remove, make *
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_NET_BIND_CONNECT_TCP = 1 | 2  # ABI 4
_SCOPE_ABSTRACT_UNIX_AND_SIGNAL = 1 | 2  # ABI 6


def _libc() -> Any:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def die_with_parent(parent: int) -> bool:
    """SIGKILL this process when the grading parent dies; False if it is already gone."""
    if not sys.platform.startswith("linux"):
        return os.getppid() == parent
    try:
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    return os.getppid() == parent


def _children_die_with_us() -> None:
    """Every os.fork() child gets the parent-death signal too (so a double fork ends at once)."""

    def arm() -> None:
        try:
            _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    os.register_at_fork(after_in_child=arm)


def _set_limits(limits: dict[str, Any]) -> list[str]:
    """Hard and soft limits alike, so the learner's code cannot raise them back."""
    import resource

    applied = []
    wanted = {
        "RLIMIT_DATA": limits.get("data"),
        "RLIMIT_FSIZE": limits.get("fsize"),
        "RLIMIT_CORE": 0,
    }
    running = _user_tasks()
    if limits.get("nproc_extra") is not None and running:  # only where /proc tells us the current count
        wanted["RLIMIT_NPROC"] = running + int(limits["nproc_extra"])
    for name, value in wanted.items():
        if value is None:
            continue
        which = getattr(resource, name)
        _soft, hard = resource.getrlimit(which)
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        try:
            resource.setrlimit(which, (value, value))
            applied.append(name)
        except (ValueError, OSError):
            pass
    cpu = limits.get("cpu_seconds")
    if cpu:
        # SIGXCPU at the soft limit (reported as a timeout), SIGKILL a second later.
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 1))
            applied.append("RLIMIT_CPU")
        except (ValueError, OSError):
            pass
    return applied


def _user_tasks() -> int:
    """Threads now running under this real user id (RLIMIT_NPROC counts them all)."""
    uid = os.getuid()
    count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdecimal():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return count


def read_roots(own: list[str]) -> list[str]:
    """Where a contained run may read: the system, this Python and its packages, the grader, ``own``."""
    roots = list(SYSTEM_READ_ROOTS)
    roots += [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.path.dirname(sys.executable)]
    roots += [p for p in sys.path if p and os.path.isabs(p)]
    grader = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""  # .../tutor/grading/worker.py
    if grader:
        roots.append(os.path.dirname(os.path.dirname(grader)))  # the tutor package
        roots.append(os.path.dirname(os.path.dirname(os.path.dirname(grader))))  # the tutor package's folder's parent
    mine = [os.path.realpath(p) for p in own]
    # The class folder (what holds each student's folder or file) is never readable as a whole, even where it
    # lies inside a folder that is (a class kept in the project's checkout, /opt, /dev/shm): only `own` is.
    classes = sorted({os.path.dirname(p) for p in mine} - {"/"})
    private = _checkout_private(grader)
    hidden = classes + [p for p in private if p not in classes]
    found: list[str] = []
    for root in roots:
        for candidate in (root, os.path.realpath(root)):
            if candidate in found or not os.path.exists(candidate):
                continue
            real = os.path.realpath(candidate)
            if any(_within(real, p) for p in private):
                continue  # the checkout's tests (reference solutions) or its history
            above = [c for c in hidden if c == real or c.startswith(real.rstrip("/") + "/")]
            if not above or any(_within(real, c) and real != c for c in classes):
                found.append(candidate)  # outside every class folder, or inside one (this Python, the grader)
            else:
                found += [p for p in _around(real, above) if p not in found]
    found += [p for p in own + mine if p not in found and os.path.exists(p)]
    return found


def _checkout_private(grader: str) -> list[str]:
    """Run from a source checkout (an editable install), the folders beside the package that a graded
    submission must not read: ``tests`` (the reference solutions and planted bugs) and ``.git`` (the same,
    in its history). An installed package has neither beside it."""
    if not grader:
        return []
    top = os.path.dirname(os.path.dirname(os.path.dirname(grader)))  # .../<checkout>/tutor/grading/worker.py
    if not os.path.isfile(os.path.join(top, "pyproject.toml")):
        return []
    return [os.path.realpath(os.path.join(top, name)) for name in ("tests", ".git")
            if os.path.lexists(os.path.join(top, name))]


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _around(root: str, hidden: list[str]) -> list[str]:
    """Paths that together cover ``root`` except the folders ``hidden`` inside it (and links into them)."""
    if any(h == root for h in hidden):
        return []
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return []
    covered: list[str] = []
    for entry in entries:
        path = os.path.join(root, entry)
        below = [h for h in hidden if _within(h, path)]
        if below:
            covered += _around(path, below)
            continue
        real = os.path.realpath(path)
        if any(_within(real, h) or _within(h, real) for h in hidden):
            continue  # a link into a class folder, or to a folder above one
        covered.append(path)
    return covered


def _landlock(writable: str, readable: list[str] | None = None) -> bool:
    """Allow file writes only beneath ``writable`` (and to /dev/null); no TCP; scoped signals.

    ``readable``: also allow reads only beneath these paths (files or folders) and ``writable``:
    a classmate's submission can then be neither imported nor opened."""
    import ctypes

    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    abi = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, 1)
    if abi < 1:
        return False
    fs = _FS_WRITES_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    reads = (_FS_READ_FILE | _FS_READ_DIR) if readable is not None else 0
    fs |= reads
    net = _NET_BIND_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX_AND_SIGNAL if abi >= 6 else 0
    attr = (ctypes.c_uint64 * 3)(fs, net, scoped)
    size = 24 if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        return False

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    rules = [(writable, fs), ("/dev/null", fs & (_FS_WRITE_FILE | _FS_TRUNCATE | _FS_READ_FILE))]
    rules += [(path, reads if os.path.isdir(path) else _FS_READ_FILE) for path in (readable or [])]
    try:
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rule = PathBeneath(access, fd)
                if libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0 and path == writable:
                    return False
            finally:
                os.close(fd)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return False
        return libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0) == 0
    finally:
        os.close(ruleset)


def _drop_capabilities() -> bool:
    """Give up every capability (a root learner keeps uid 0 but loses its powers)."""
    import ctypes

    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability: ignored
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    capset = getattr(libc, "capset", None)
    if capset is None:
        return False
    return capset(ctypes.byref(header), ctypes.byref(data)) == 0


def contain(limits: dict[str, Any], workdir: str) -> list[str]:
    """Apply every protection this kernel offers; return the names of those in force."""
    applied = _set_limits(limits)
    own = limits.get("read_only")  # grading a class: reads limited to the system and the student's own files
    readable = read_roots([str(p) for p in own]) if isinstance(own, list) else None
    try:
        if _landlock(workdir, readable):
            applied.append("landlock")
            if readable is not None:
                applied.append("landlock-reads")
    except (OSError, AttributeError, ValueError):
        pass
    try:
        if _drop_capabilities():
            applied.append("no-capabilities")
    except (OSError, AttributeError, ValueError):
        pass
    _children_die_with_us()
    return applied
