"""Containment of the learner's code: hostile files written by each test, graded for real."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from test_grading_helpers import SOLUTIONS, alive, descendants, grade, worker_pids

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the containment measures are Linux ones")

SOLUTION = (SOLUTIONS / "backprop.py").read_text()


def _learner(tmp_path: Path, prelude: str, *, body: str = SOLUTION, name: str = "backprop.py") -> Path:
    path = tmp_path / name
    path.write_text(prelude + "\n" + body)
    return path


def _our_dirs() -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"dnn-tutor-check-{os.getpid()}-*"))


PROBE = """
import json, sys
from typer.testing import CliRunner
from tutor.grading import runner
seen = {}
original = runner.Child._go
def spy(self):
    seen.setdefault("modules", sorted(sys.modules))
    return original(self)
runner.ALWAYS_GATE = True  # hold the learner's code until the parent is ready, Landlock or not
runner.Child._go = spy
from tutor.cli import app
result = CliRunner().invoke(app, ["check", sys.argv[1], "--seed", "1"])
print(json.dumps({"exit": result.exit_code, "modules": seen.get("modules", [])}))
"""


@pytest.mark.slow
def test_parent_modules_are_imported_before_the_learner_code_runs(tmp_path, tutor_home):
    import json

    path = _learner(tmp_path, "")
    env = dict(os.environ, DNN_TUTOR_HOME=str(tutor_home))
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, env=env, timeout=300)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["exit"] == 0, out
    for name in ("tutor.quiz", "tutor.render.grading", "tutor.grading.hints", "tutor.store", "rich.table", "rich.panel", "torch"):
        assert name in data["modules"], f"{name} was imported after the learner's code could run"


def test_learner_code_cannot_write_outside_its_folder(tmp_path):
    installed = tmp_path / "installed"
    installed.mkdir()
    target = installed / "quiz.py"
    target.write_text("ORIGINAL = True\n")
    prelude = (
        "try:\n"
        f"    open({str(target)!r}, 'a').write('print(\"all checks pass\")\\n')\n"
        "    print('WROTE')\n"
        "except OSError as exc:\n"
        "    print('REFUSED', type(exc).__name__)\n"
    )
    report = grade("backprop", _learner(tmp_path, prelude), seed=1)
    if "landlock" not in report.containment:
        pytest.skip("this kernel has no Landlock")
    assert report.ok
    assert "REFUSED" in report.output and "WROTE" not in report.output
    assert target.read_text() == "ORIGINAL = True\n"


def test_graded_from_the_bytes_that_were_hashed_not_stale_bytecode(tmp_path):
    import hashlib
    import py_compile

    path = _learner(tmp_path, "")
    cache = Path(py_compile.compile(str(path), doraise=True))  # a cache of the correct file
    stamp = path.stat()
    wrong = SOLUTION.replace("db = dout.sum(axis=0)", "db = dout.sum(axis=1)")
    assert len(wrong) == len(SOLUTION) and wrong != SOLUTION
    path.write_text(wrong)
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # same size, same second: the loader would trust the cache
    before = sorted(p.name for p in cache.parent.iterdir())
    report = grade("backprop", path, seed=1)
    assert not report.ok, "the stale bytecode was graded"
    assert report.file_hash == hashlib.sha256(wrong.encode()).hexdigest()
    assert sorted(p.name for p in cache.parent.iterdir()) == before
    other = tmp_path / "fresh"
    other.mkdir()
    grade("backprop", _learner(other, ""), seed=1)
    assert not (other / "__pycache__").exists()


@pytest.mark.slow
def test_the_timeout_counts_from_the_learner_code_start_including_its_import(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text("import time\ntime.sleep(26)\n")
    started = time.monotonic()
    report = grade("backprop", path, timeout=2)
    assert time.monotonic() - started < 15
    assert report.fatal is not None and report.fatal.kind == "timeout"
    assert "while importing your file" in report.fatal.message


def test_forged_ready_frames_cannot_extend_the_deadline(tmp_path):
    forger = '''
import os, pickle, struct, threading
frame = pickle.dumps(("ready", ["landlock"]), protocol=4)
frame = struct.pack(">I", len(frame)) + frame

def flood():
    while True:
        for fd in range(3, 40):
            try:
                os.write(fd, frame)
            except OSError:
                pass

def dense_forward(x, W, b):
    threading.Thread(target=flood, daemon=True).start()
    while True:
        pass
'''
    path = tmp_path / "backprop.py"
    path.write_text(forger)
    started = time.monotonic()
    report = grade("backprop", path, timeout=1)
    assert time.monotonic() - started < 20
    assert report.fatal is not None and report.fatal.kind in ("timeout", "protocol")


def test_a_frame_announcing_gigabytes_is_refused_unread(tmp_path):
    liar = "import os, struct\nfor fd in range(3, 40):\n    try:\n        os.write(fd, struct.pack('>I', 0xFFFFFFF0))\n    except OSError:\n        pass\n"
    started = time.monotonic()
    report = grade("backprop", _learner(tmp_path, liar), seed=1, timeout=5)
    assert time.monotonic() - started < 20
    assert report.fatal is not None and report.fatal.kind == "protocol"
    assert "refused" in report.fatal.message


def test_limits_are_hard_and_cannot_be_raised(tmp_path):
    prelude = '''
import resource
for name in ("RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_CPU"):
    which = getattr(resource, name)
    soft, hard = resource.getrlimit(which)
    try:
        resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        print(name, "RAISED")
    except (ValueError, OSError):
        print(name, "REFUSED", soft, hard)
try:
    with open("big.bin", "wb") as handle:
        handle.write(b"x" * (50 * 1024 * 1024))
    print("BIG-WRITTEN")
except OSError as exc:
    print("BIG-REFUSED")
'''
    report = grade("backprop", _learner(tmp_path, prelude), seed=1)
    assert report.ok
    assert "RAISED" not in report.output
    for name in ("RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_CPU"):
        assert f"{name} REFUSED" in report.output
    fields = re.search(r"RLIMIT_DATA REFUSED (\d+) (\d+)", report.output)
    assert fields and fields.group(1) == fields.group(2)
    assert "BIG-REFUSED" in report.output


def test_memory_beyond_the_limit_is_stopped_even_after_trying_to_lift_it(tmp_path):
    hog = (
        "import resource, numpy as np\n"
        "try:\n    resource.setrlimit(resource.RLIMIT_DATA, (resource.RLIM_INFINITY,) * 2)\nexcept (ValueError, OSError):\n    pass\n"
        "def dense_forward(x, W, b):\n    block = np.ones(3 * 1024**3 // 8)\n    return block\n"
    )
    path = tmp_path / "backprop.py"
    path.write_text(hog)
    report = grade("backprop", path, timeout=20)
    assert report.fatal is not None and report.fatal.kind == "memory"


FORKER = '''
import ctypes, os, sys, time
libc = ctypes.CDLL(None)
pids = []
pid = os.fork()
if pid == 0:
    time.sleep(120)
    os._exit(0)
pids.append(pid)
r, w = os.pipe()
pid = libc.fork()  # below Python: no at-fork hooks run
if pid == 0:
    os.setsid()
    grandchild = libc.fork()
    if grandchild == 0:
        os.write(w, str(os.getpid()).encode())
        time.sleep(120)
        os._exit(0)
    os._exit(0)
os.waitpid(pid, 0)
pids.append(int(os.read(r, 32)))
print("PIDS", *pids)
sys.stdout.flush()
'''


def _pids(output: str) -> list[int]:
    match = re.search(r"PIDS ([\d ]+)", output)
    assert match, output
    return [int(p) for p in match.group(1).split()]


def test_forked_and_detached_processes_do_not_outlive_the_check(tmp_path):
    report = grade("backprop", _learner(tmp_path, FORKER), seed=1)
    assert report.ok
    pids = _pids(report.output)
    assert len(pids) == 2
    time.sleep(0.1)
    assert not [pid for pid in pids if alive(pid)], "a process started by the learner survived the check"
    assert not _our_dirs(), "the run's temporary folder was left behind"


@pytest.mark.slow
def test_a_failing_or_timed_out_check_also_ends_every_process(tmp_path):
    body = FORKER + "\ndef dense_forward(x, W, b):\n    while True:\n        pass\n"
    path = tmp_path / "backprop.py"
    path.write_text(body)
    report = grade("backprop", path, timeout=0.5)
    assert report.fatal is not None and report.fatal.kind == "timeout"
    pids = _pids(report.output)
    time.sleep(0.1)
    assert not [pid for pid in pids if alive(pid)]
    assert not _our_dirs()


def _spawn_check(path: Path, home: Path) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "dnn-tutor"
    env = dict(os.environ, DNN_TUTOR_HOME=str(home), NO_COLOR="1")
    return subprocess.Popen([str(exe), "check", str(path), "--timeout", "60"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for_worker(proc: subprocess.Popen) -> int:
    deadline = time.monotonic() + 60
    while True:
        found = worker_pids(proc.pid)
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the grading child never started"
        time.sleep(0.1)


# Runs until it is stopped. It waits rather than spins: a spinning one takes a core from the other tests.
LOOPER = FORKER + "\nwhile True:\n    time.sleep(0.05)\n"


@pytest.mark.slow
def test_sigterm_during_a_check_ends_the_tree_and_removes_the_folder(tmp_path, tutor_home):
    path = tmp_path / "backprop.py"
    path.write_text(LOOPER)
    proc = _spawn_check(path, tutor_home)
    worker = _wait_for_worker(proc)
    time.sleep(1.5)  # the learner's code has forked and is looping
    tree = descendants(proc.pid)
    assert worker in tree
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode in (130, 143), err
    assert b"Traceback" not in err
    time.sleep(0.2)
    assert not [pid for pid in tree if alive(pid)]
    assert not list(Path(tempfile.gettempdir()).glob(f"dnn-tutor-check-{proc.pid}-*"))


@pytest.mark.slow
def test_the_child_dies_with_its_parent_and_a_later_run_removes_the_folder(tmp_path, tutor_home):
    path = tmp_path / "backprop.py"
    # The worker clears its own parent-death signal and sleeps (no CPU limit to hit).
    path.write_text(
        "import ctypes, os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(120)\n    os._exit(0)\n"
        "ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\ntime.sleep(120)\n"
    )
    proc = _spawn_check(path, tutor_home)
    worker = _wait_for_worker(proc)
    time.sleep(1.5)
    tree = descendants(proc.pid)
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while [pid for pid in tree if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(worker), "the worker outlived its parent"
    assert not [pid for pid in tree if alive(pid)], "a forked child outlived the parent"
    from tutor.grading import containment

    containment.remove_stale_dirs()
    assert not list(Path(tempfile.gettempdir()).glob(f"dnn-tutor-check-{proc.pid}-*"))


@pytest.mark.slow
def test_a_run_folder_nested_thousands_deep_is_removed_and_grading_goes_on(tmp_path):
    """Learner code may fill its run folder with anything: 2,200 nested folders (deeper than a recursive
    removal can go, and past PATH_MAX: 4,400 characters), one without permissions, a link out. The verdict
    stands and the folder goes."""
    nest = (
        "\nimport os\n"
        "os.symlink('/etc', 'out')\n"
        "os.mkdir('locked')\n"
        "os.chmod('locked', 0)\n"
        "for _ in range(2200):\n"
        "    os.mkdir('d')\n"
        "    os.chdir('d')\n"
        "    open('f', 'w').close()\n"
    )
    path = tmp_path / "backprop.py"
    path.write_text((SOLUTIONS / "backprop.py").read_text() + nest)
    report = grade("backprop", path, seed=3)
    assert report.fatal is None and report.passed == report.total, report.fatal
    assert not _our_dirs(), "the run's temporary folder was left behind"
    assert Path("/etc/hostname").exists() or Path("/etc").is_dir()


def _nest(top: Path, depth: int) -> int:
    """``depth`` folders one inside the other under ``top`` (made through descriptors: the path runs past
    PATH_MAX); returns a descriptor on the deepest."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        deeper = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = deeper
    return fd


def test_the_disk_limit_sees_what_is_written_past_path_max_or_in_a_locked_folder(tmp_path):
    """The run folder's size was read by full paths: nothing past PATH_MAX (2,500 folders deep) was seen,
    and each scan cost time in the square of the depth while the learner's code ran."""
    from tutor.fsutil import remove_tree, tree_over

    deep = tmp_path / "deep"
    deep.mkdir()
    try:  # never left behind: too deep for the removal of old test folders
        fd = _nest(deep, 2500)
        try:
            assert not tree_over(deep, 64 * 2**20, 10_000)  # 2,500 empty folders: under both limits
            big = os.open("big", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
            os.write(big, b"x" * 20 * 2**20)  # 20 MiB at the bottom
            os.close(big)
        finally:
            os.close(fd)
        assert tree_over(deep, 16 * 2**20, 10_000)  # over on bytes (the folders above hold 10 MiB at most)
        assert tree_over(deep, 64 * 2**20, 2_400)  # and on entries: every folder down there counts
        assert not tree_over(deep, 64 * 2**20, 10_000)
    finally:
        remove_tree(deep)
    assert not deep.exists()

    locked = tmp_path / "locked"
    (locked / "inside").mkdir(parents=True)
    (locked / "inside" / "f").write_bytes(b"x" * 2**20)
    (locked / "inside").chmod(0)
    try:
        assert tree_over(locked, 512 * 2**10, 10_000)  # what a locked folder holds counts too
    finally:
        (locked / "inside").chmod(0o700)
    assert not tree_over(tmp_path / "missing", 0, 0)  # nothing there: nothing over


def test_leftovers_of_dead_runs_are_removed_and_live_ones_kept(tmp_path, monkeypatch):
    """Folders of `check` and logs of `grade` whose process was killed (SIGKILL, a power cut) go on
    the next run; those of a run still going, or named some other way, stay."""
    from tutor.classroom.pool import LOG_PREFIX
    from tutor.grading import containment

    tmp_path = tmp_path / "tmp"
    tmp_path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    live = str(os.getppid())
    (tmp_path / f"dnn-tutor-check-{dead}-abc").mkdir()
    (tmp_path / f"dnn-tutor-check-{dead}-abc" / "output.txt").write_text("x")
    (tmp_path / f"dnn-tutor-check-{live}-abc").mkdir()
    (tmp_path / f"{LOG_PREFIX}{dead}-x.log").write_text("")
    (tmp_path / f"{LOG_PREFIX}{live}-x.log").write_text("")
    (tmp_path / f"{LOG_PREFIX}old.log").write_text("")
    (tmp_path / "mine.log").write_text("")
    assert containment.remove_stale_dirs() == 1
    assert containment.remove_stale_dirs(LOG_PREFIX) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"dnn-tutor-check-{live}-abc", f"{LOG_PREFIX}{live}-x.log", f"{LOG_PREFIX}old.log", "mine.log"]
    )


def test_the_child_cannot_read_the_parent_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DNN_TUTOR_PROBE_SECRET", "s3cret-value")
    prelude = '''
import os
for what in ("environ", "mem"):
    try:
        with open(f"/proc/{os.getppid()}/{what}", "rb") as handle:
            data = handle.read(1 << 20)
        print(what, "READ", b"s3cret-value" in data)
    except OSError as exc:
        print(what, "DENIED")
print("ENV", "DNN_TUTOR_PROBE_SECRET" in os.environ)
'''
    report = grade("backprop", _learner(tmp_path, prelude), seed=1)
    assert report.ok
    assert "environ DENIED" in report.output
    assert "s3cret-value" not in report.output
    assert "ENV False" in report.output
    import ctypes

    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 1  # dumpable again once the check is over


def test_learner_runs_in_its_own_temporary_folder(tmp_path):
    report = grade("backprop", _learner(tmp_path, "import os\nprint('CWD', os.getcwd())\n"), seed=1)
    cwd = re.search(r"CWD (\S+)", report.output).group(1)
    assert Path(cwd) != tmp_path and "dnn-tutor-check-" in cwd
    assert not Path(cwd).exists()


def test_learner_text_is_shown_with_control_characters_visible(tmp_path, runner):
    from tutor.cli import app

    prelude = (
        "print('\\x1b[2J\\x1b[H15/15 checks  — all checks pass [bold green]fake[/bold green] [/red]')\n"
        "print('bell\\x07 and \\r carriage and \\u202e bidi')\n"
    )
    body = SOLUTION.replace("    x, W = cache", "    x, W = cache\n    raise ValueError('\\x1b[31mred\\x1b[0m [/red]')", 1)
    path = _learner(tmp_path, prelude, body=body)
    result = runner.invoke(app, ["check", str(path), "--seed", "1"], env={"NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    out = result.output
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out and "\\x07" in out and "\\u202e" in out
    assert "[bold green]fake[/bold green] [/red]" in out
    assert "\\x1b[31mred" in out


def test_markup_in_a_path_is_shown_as_text(tmp_path, runner):
    from tutor.cli import app

    folder = tmp_path / "[red]x[bold]"
    folder.mkdir()
    path = folder / "backprop.py"
    path.write_text(SOLUTION)
    result = runner.invoke(app, ["check", str(path), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "[red]x[bold]" in result.output.replace("\n", "")


def test_the_child_cannot_signal_the_parent(tmp_path):
    prelude = (
        "import os, signal\n"
        "try:\n    os.kill(os.getppid(), signal.SIGCONT)\n    print('SIGNAL SENT')\n"
        "except OSError:\n    print('SIGNAL DENIED')\n"
    )
    report = grade("backprop", _learner(tmp_path, prelude), seed=1)
    assert report.ok
    if "landlock" not in report.containment or tuple(int(x) for x in os.uname().release.split(".")[:2]) < (6, 12):
        pytest.skip("signal scoping needs Landlock ABI 6 (Linux 6.12)")
    assert "SIGNAL DENIED" in report.output


@pytest.mark.slow
def test_a_process_flood_is_stopped_and_cleaned_up(tmp_path):
    flood = (
        "import os, time\n"
        "def dense_forward(x, W, b):\n"
        "    for _ in range(80):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(120)\n"
        "            os._exit(0)\n"
        "    time.sleep(120)\n"
    )
    path = tmp_path / "backprop.py"
    path.write_text(flood)
    before = descendants(os.getpid())
    started = time.monotonic()
    report = grade("backprop", path, timeout=30)
    assert time.monotonic() - started < 25
    assert report.fatal is not None and report.fatal.kind == "processes", report.fatal
    assert "more than 32 processes" in report.fatal.message
    time.sleep(0.1)
    assert not descendants(os.getpid()) - before


def test_a_stopped_run_is_never_done_even_when_every_check_passed():
    from tutor.grading.model import CheckResult, Fatal, Report

    checks = tuple(CheckResult(f"c{i}", "f", "t", True, 0.0, 1e-7, "ok") for i in range(3))
    clean = Report("backprop", "b.py", "0", 1, checks, None, "", False, 0.0)
    stopped = Report("backprop", "b.py", "0", 1, checks, Fatal("output", "flood"), "", True, 0.0)
    assert clean.status == "done" and clean.credited == 3
    assert not stopped.ok and stopped.credited == 2 and stopped.status == "2 of 3 checks"
    assert stopped.to_dict()["status"] == "2 of 3 checks"


@pytest.mark.slow
def test_output_that_bypasses_print_cannot_earn_done(tmp_path, tutor_home, runner):
    from tutor.cli import app

    path = _learner(tmp_path, "", body=SOLUTION + "\nimport os\nos.write(1, b'x' * 600_000)\n")
    result = runner.invoke(app, ["check", str(path), "--seed", "1"])
    assert result.exit_code == 1
    assert "the run was stopped (output" in result.output
    table = runner.invoke(app, ["exercises", "--json"])
    rows = {row["id"]: row for row in __import__("json").loads(table.output)}
    assert rows["backprop"]["status"] != "done" and rows["backprop"]["passed"] < rows["backprop"]["total"]


_SEND = '''
import os, pickle, struct
_fd = int(open("/proc/self/cmdline", "rb").read().split(b"\\0")[5])  # python -I -B worker.py jobs RESULT go

def _send(*message):
    data = pickle.dumps(message, protocol=4)
    os.write(_fd, struct.pack(">I", len(data)) + data)
'''


@pytest.mark.slow
def test_a_forged_done_frame_is_a_protocol_failure_not_a_silent_zero(tmp_path):
    path = _learner(tmp_path, _SEND + "_send('done')\nos._exit(0)\n")
    report = grade("backprop", path, seed=1)
    assert report.fatal is not None and report.fatal.kind == "protocol", report.fatal
    assert "done before every check had run" in report.fatal.message


@pytest.mark.slow
def test_a_forged_result_for_a_job_is_refused_when_the_real_one_comes(tmp_path):
    # the forged result comes first; the worker's own result for the same job then reveals it
    path = _learner(tmp_path, _SEND + "_send('job', 'dense_forward#0', {})\n")
    report = grade("backprop", path, seed=1)
    assert not report.ok
    assert report.fatal is not None and report.fatal.kind == "protocol", report.fatal
    assert report.status != "done"


def test_the_channel_takes_plain_bounded_data_only():
    """A frame is unpickled with an allow-list, and what comes out must be plain data of bounded size:
    numpy.ndarray(shape, dtype) called from a frame of a hundred bytes allocated gigabytes in the grader,
    and a list holding the level below twice, 80 levels deep, has 2**80 paths to walk."""
    import pickle
    import time

    import numpy as np

    from tutor.grading import runner

    plain = ("job", "x", {"a": {"ok": True, "value": (np.arange(6.0).reshape(2, 3), np.float32(1.5), 3, 2.5j, None, "s",
                                                      np.int64(7), np.bool_(True), np.zeros(2, np.complex64))}})
    back = runner.safe_loads(pickle.dumps(plain, protocol=4))
    assert np.array_equal(back[2]["a"]["value"][0], plain[2]["a"]["value"][0]) and back[2]["a"]["value"][1] == np.float32(1.5)

    class Big:
        def __reduce__(self):
            return (np.ndarray, ((50_000_000_000,), np.dtype(np.float64)))

    class Shaped:
        def __reduce__(self):
            from numpy._core.multiarray import _reconstruct
            return (_reconstruct, (np.ndarray, (50_000_000_000,), b"b"))

    class VoidScalar:  # a scalar of a two-gigabyte void type: allocated in full while unpickling
        def __reduce__(self):
            from numpy._core.multiarray import scalar
            return (scalar, (np.dtype("V2000000000"),))

    dag: list = []
    for _ in range(80):
        dag = [dag, dag]
    wide: list = [[0] * 1000 for _ in range(300)]
    started = time.monotonic()
    for bad in (("job", Big()), ("job", Shaped()), ("job", VoidScalar()), ("job", np.dtype("V64")), ("job", dag), ("job", wide), ("job", 10**60), ("job", {1: 2}),
                ("job", np.array(["text"])), ("job", np.zeros(3, dtype=object))):
        with pytest.raises(pickle.UnpicklingError):
            runner.safe_loads(pickle.dumps(bad, protocol=4))
    assert time.monotonic() - started < 5


@pytest.mark.slow
def test_a_frame_that_would_hang_the_grader_is_a_prompt_protocol_failure_without_the_workers_traceback(tmp_path, runner):
    from tutor.cli import app

    path = _learner(tmp_path, _SEND + "d = []\nfor _ in range(80):\n    d = [d, d]\n_send('begin', d)\n")
    result = runner.invoke(app, ["check", str(path), "--seed", "1", "--timeout", "5", "--json"])
    data = __import__("json").loads(result.stdout)
    assert data["fatal"]["kind"] == "protocol" and "nested more than" in data["fatal"]["message"]
    assert "worker.py" not in data["output"] and "BrokenPipeError" not in data["output"]


def test_a_huge_integer_result_is_described_not_refused():
    from tutor.grading.wire import sanitize

    said = sanitize(10**100)
    assert said == {"$object": "int", "repr": "an integer of about 101 digits"}
    assert sanitize(2**100) == 2**100


_FORGED_DIFFERENCES = """
import sys as _s

def _fake(self, step, env, variables):  # report the backward's own numbers as the finite differences
    if "bwd" in env:
        g = env["bwd"]
        grads = g if isinstance(g, tuple) else (g,)
        pick = lambda i, path: grads[i]
    else:
        g = env["out"][1]
        pick = lambda i, path: g if path == [0] else g[path[-1]]
    return {"grads": [np.asarray(pick(i, p), dtype=float).reshape(-1)[list(c)] for i, (p, c) in enumerate(zip(step["wrt"], step["coords"]))]}

_s.modules["__main__"].Runner.step_numgrad = _fake
"""


@pytest.mark.slow
def test_rewritten_finite_differences_gain_nothing_where_the_forward_matches_pytorch(tmp_path):
    """The differences are taken in the learner's process: rewritten there to echo a wrong backward, they
    turned 'vs finite differences' into a pass. Where the forward is PyTorch's, PyTorch's gradient is the truth."""
    wrong = SOLUTION.replace("    return dx, dW, db", "    return 3 * dx, 3 * dW, 3 * db")
    assert wrong != SOLUTION
    honest = grade("backprop", _learner(tmp_path, "", body=wrong, name="honest.py"), seed=3)
    forged = grade("backprop", _learner(tmp_path, "", body=wrong + _FORGED_DIFFERENCES, name="forged.py"), seed=3)
    by_id = {c.id: c for c in forged.checks}
    assert by_id["dense_forward.values"].passed and not by_id["dense_backward.numeric"].passed
    assert forged.passed == honest.passed < forged.total
    assert by_id["relu_backward.numeric"].passed  # what the forgery reported for a right backward is still right


def test_a_fork_at_import_cannot_speak_for_the_worker(tmp_path):
    """A copy made by fork() at import time runs back into the grader's code; its errors must not
    become the run's verdict (it used to report `fatal: import` beside 15/15), and a correct file
    still passes cleanly."""
    outside = tmp_path / "outside.txt"
    epilogue = (
        "\nimport os\n"
        "if os.fork() == 0:\n"
        f"    open({str(outside)!r}, 'w').write('child')\n"
        "    raise RuntimeError('the forked copy failed')\n"
    )
    path = tmp_path / "backprop.py"
    path.write_text(SOLUTION + epilogue)
    report = grade("backprop", path, seed=2)
    assert report.fatal is None, report.fatal
    assert report.ok and report.passed == report.total
    assert "the forked copy failed" not in report.output


@pytest.mark.parametrize("forgery, said", [
    ("_send('import-error', {'kind': 10**5000, 'type': 10**5000, 'message': 10**5000, 'line': 10**5000, "
     "'frames': [{'line': 10**5000, 'code': 10**5000}]})\nos._exit(0)\n", "integer too large"),
    ("_send('imported')\n_send('begin', 'A' * 5_000_000)\nos._exit(3)\n", "unknown job"),
    ("_send('imported')\n_send('begin', 10**5000)\n_send('job', 10**5000, {})\nos._exit(3)\n", "integer too large"),
], ids=["huge ints at import", "a 5 MB job name", "huge int job names"])
def test_forged_messages_with_odd_contents_are_a_short_verdict_not_a_grader_error(tmp_path, forgery, said):
    """An int of 5,000 digits has no str(); a 5 MB job name would paste itself into the report."""
    report = grade("backprop", _learner(tmp_path, _SEND + forgery), seed=1)
    assert report.fatal is not None and said in report.fatal.message, report.fatal
    assert len(report.fatal.message) < 1000
    assert not report.ok


def test_a_float_subclass_is_a_float_and_a_learners_keyboard_interrupt_an_exception(tmp_path):
    """Results are sent as plain data (a float subclass used to read as a corrupted channel); the child
    never gets the terminal's Ctrl-C, so a KeyboardInterrupt there is the learner's own exception."""
    source = SOLUTION + (
        "\nclass Loss(float):\n    pass\n\n_plain = softmax_cross_entropy\n\n"
        "def softmax_cross_entropy(logits, y):\n    loss, dlogits = _plain(logits, y)\n    return Loss(loss), dlogits\n"
    )
    report = grade("backprop", _learner(tmp_path, source, body=""), seed=1)
    assert report.fatal is None and report.passed == report.total, report.fatal
    interrupted = SOLUTION.replace("def relu_forward(x):", "def relu_forward(x):\n    raise KeyboardInterrupt\n", 1)
    assert interrupted != SOLUTION
    report = grade("backprop", _learner(tmp_path, interrupted, body=""), seed=1)
    assert report.fatal is None, report.fatal
    failed = {c.id: c.message for c in report.checks if not c.passed}
    assert "relu_forward.values" in failed and "KeyboardInterrupt" in failed["relu_forward.values"]
    assert "dense_forward.values" not in failed
    assert "worker.py" not in report.output


def test_a_forward_that_never_differentiates_cleanly_earns_no_finite_difference_check(tmp_path):
    """Finite differences skip points next to a kink; when every sampled point is skipped (a forward that
    adds noise), nothing was compared, and the check fails instead of passing with error 0 (here beside a
    backward that returns zeros, which used to earn it)."""
    noisy = SOLUTION.replace(
        "def dense_forward(x, W, b):",
        "_noise = np.random.default_rng(0)\n\ndef dense_forward(x, W, b):\n"  # seeded: unseeded, one point in ~13 runs came out smooth
        "    out, cache = _dense_forward(x, W, b)\n    return out + _noise.normal(size=out.shape) * 1e-9, cache\n\n\n"
        "def _dense_forward(x, W, b):",
        1,
    )
    zeros = noisy.replace(
        "def dense_backward(dout, cache):",
        "def dense_backward(dout, cache):\n    x, W = cache\n    return np.zeros_like(x), np.zeros_like(W), np.zeros(W.shape[1])\n\n\n"
        "def _dense_backward(dout, cache):",
        1,
    )
    report = grade("backprop", _learner(tmp_path, zeros, body=""), seed=1)
    check = {c.id: c for c in report.checks}["dense_backward.numeric"]
    assert not check.passed and "could not be taken at any" in check.message, check.message


def test_folders_without_permissions_are_removed_as_their_owner_may(tmp_path):
    """Learner code that makes its run folder's subfolders read-only (or unreadable) used to leave the
    whole folder behind, one more in /tmp per check. Checked without root's powers where there are any."""
    import shutil

    script = (
        "import os, sys\n"
        "from tutor.fsutil import remove_tree\n"
        "root = sys.argv[1]\n"
        "os.makedirs(os.path.join(root, 'a', 'b'))\n"
        "open(os.path.join(root, 'a', 'b', 'f'), 'w').close()\n"
        "open(os.path.join(root, 'a', 'g'), 'w').close()\n"
        "os.makedirs(os.path.join(root, 'd'))\n"
        "open(os.path.join(root, 'd', 'h'), 'w').close()\n"
        "os.chmod(os.path.join(root, 'a', 'b'), 0o500)\n"
        "os.chmod(os.path.join(root, 'a'), 0o500)\n"
        "os.chmod(os.path.join(root, 'd'), 0)\n"
        "print(remove_tree(root), os.path.exists(root))\n"
    )
    command = [sys.executable, "-c", script, str(tmp_path / "run")]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root, and no setpriv to drop root's override of permissions")
        command = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"], done.stdout


@pytest.mark.slow
def test_a_class_submission_reads_only_its_own_files(tmp_path, monkeypatch):
    """Grading a class, a submission that imports or opens a classmate's file got the classmate's marks;
    helpers in the student's own folder still import."""
    from tutor.classroom import adapter, pool, service

    flat, folders = tmp_path / "flat", tmp_path / "folders"
    flat.mkdir()
    (flat / "alice.py").write_text(SOLUTION)
    (flat / "mallory.py").write_text("from alice import *\n")
    for student in ("alice", "mallory", "oscar"):
        (folders / student).mkdir(parents=True)
    (folders / "alice" / "backprop.py").write_text(SOLUTION)
    (folders / "mallory" / "backprop.py").write_text(
        "import os\nexec(open(os.path.join(os.path.dirname(__file__), '..', 'alice', 'backprop.py')).read())\n")
    (folders / "oscar" / "oscar_layers.py").write_text(SOLUTION)
    (folders / "oscar" / "backprop.py").write_text("from oscar_layers import *\n")

    tasks: list = []
    monkeypatch.setattr(pool, "run", lambda todo, *args, **kwargs: tasks.extend(todo))
    for klass, exercise in ((flat, "backprop"), (folders, None)):
        service.grade_class(klass, exercise=exercise, out=tmp_path / f"{klass.name}.csv", seed=3)
    own = {("flat" if "flat" in Path(t.path).parts else "folders", t.student): t.own for t in tasks}
    assert own[("flat", "mallory")] == str((flat / "mallory.py").resolve())  # a flat file: only itself
    assert own[("folders", "mallory")] == str((folders / "mallory").resolve())

    for task in tasks:
        row = adapter.grade_row(task.student, task.exercise, Path(task.path), seed=3, timeout=20, own=task.own)
        if task.student == "mallory":
            assert row.passed == 0 and row.status == "import", row
            if "folders" in Path(task.path).parts:  # an open() of the classmate's file: the report says why
                report = adapter.grade("backprop", Path(task.path), seed=3, timeout=20, own=task.own)
                assert "may read only its own folder" in report.fatal.message
        else:
            assert row.status == "done", row  # alice, and oscar's own helper module


@pytest.mark.slow
def test_a_file_python_would_refuse_for_its_encoding_is_a_syntax_error_and_a_declared_one_runs(tmp_path):
    """A Latin-1 byte in a comment: `python file.py` refuses it, so the grader does too (it passed 15/15)."""
    stray = tmp_path / "backprop.py"
    stray.write_bytes(b"# caf\xe9\n" + SOLUTION.encode())
    report = grade("backprop", stray, seed=1)
    assert report.fatal is not None and report.fatal.kind == "syntax" and "line 1" in report.fatal.message
    assert "UTF-8" in report.fatal.message and report.passed == 0
    declared = tmp_path / "declared" / "backprop.py"
    declared.parent.mkdir()
    declared.write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + SOLUTION.encode())
    assert grade("backprop", declared, seed=1).ok


@pytest.mark.slow
@pytest.mark.parametrize("writer", [
    "for i in range(200):\n    open(f'big{i}.bin', 'wb').write(b'x' * 4_000_000)\n",  # 800 MB in 4 MB files (each under the file cap)
    "for i in range(1_000_000):\n    open(f'f{i}', 'w').close()\n",  # a million empty files: the disk's inodes
    "with open('big.bin', 'wb') as f:\n    for i in range(20):\n        f.write(b'x' * 1_000_000)\n",  # one file past the cap
], ids=["bytes", "files", "one-big-file"])
def test_a_run_that_fills_the_disk_is_stopped_and_its_files_removed(tmp_path, monkeypatch, writer):
    from tutor.grading import runner

    # The same limits at a fifth of their size, looked at four times as often: the same stop, sooner (the files
    # case made some 20,000 files before the next look, then removed them: 5 CPU-s of the suite)
    monkeypatch.setattr(runner, "MAX_FILES", 2_000)
    monkeypatch.setattr(runner, "DISK_LIMIT", 16 * 2**20)
    monkeypatch.setattr(runner, "PROCESS_SCAN_SECONDS", 0.06)
    report = grade("backprop", _learner(tmp_path, "import numpy as np\n" + writer), seed=1, timeout=30)
    assert report.fatal is not None and report.fatal.kind == "disk", report.fatal
    assert "exercises write no files" in report.fatal.message
    assert not report.ok and report.credited < report.total  # stopped mid-run (or caught just after): never done
    assert not _our_dirs()


@pytest.mark.slow
def test_an_honest_huge_nested_list_is_a_wrong_type_not_a_corrupted_channel(tmp_path):
    """64 x 64 x 64 floats as lists: the worker sends a description past its budget, so the verdict is
    about the value (and no longer 'the result channel was corrupted')."""
    body = SOLUTION + ("\n_relu = relu_forward\n\ndef relu_forward(x):\n"
                       "    out, cache = _relu(x)\n    return [[[0.5] * 64] * 64] * 64, cache\n")
    report = grade("backprop", _learner(tmp_path, "", body=body), seed=1)
    assert report.fatal is None, report.fatal
    relu = {c.id: c for c in report.checks}["relu_forward.values"]
    assert not relu.passed and "corrupted" not in relu.message
    assert {c.id: c for c in report.checks}["dense_forward.values"].passed


def test_read_roots_cover_a_folder_that_holds_the_class_except_the_class(tmp_path, monkeypatch):
    """A class kept inside a readable folder (the project's checkout, /opt, /dev/shm) was readable whole:
    a classmate's file could be opened or imported for full marks."""
    from tutor.grading import sandbox

    klass = tmp_path / "course" / "class"
    for student in ("alice", "mallory"):
        (klass / student).mkdir(parents=True)
    (tmp_path / "course" / "notes").mkdir()
    (tmp_path / "course" / "a-link").symlink_to(klass)
    (tmp_path / "course" / "up-link").symlink_to(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setattr(sandbox, "SYSTEM_READ_ROOTS", (str(tmp_path),))
    roots = sandbox.read_roots([str(klass / "mallory")])
    real = {os.path.realpath(r) for r in roots}
    assert str(klass / "mallory") in real
    assert str(tmp_path / "course" / "notes") in real and str(tmp_path / "elsewhere") in real
    for hidden in (tmp_path, tmp_path / "course", klass, klass / "alice"):
        assert str(hidden) not in real, hidden
    assert not any(r.endswith(("a-link", "up-link")) for r in roots)


def test_read_roots_leave_out_a_checkouts_tests_and_history(tmp_path, monkeypatch):
    """Run from a source checkout, the package's parent folder was readable whole, tests/solutions too."""
    from tutor.grading import sandbox

    top = tmp_path / "checkout"
    for folder in ("tutor/grading", "tests/solutions", ".git/objects", "exercises"):
        (top / folder).mkdir(parents=True)
    (top / "tutor" / "grading" / "worker.py").write_text("")
    (top / "pyproject.toml").write_text("")
    (top / "answers").symlink_to(top / "tests")
    student = tmp_path / "class" / "mallory"
    student.mkdir(parents=True)
    monkeypatch.setattr(sandbox, "SYSTEM_READ_ROOTS", ())
    monkeypatch.setattr(sys, "argv", [str(top / "tutor" / "grading" / "worker.py")])
    monkeypatch.setattr(sys, "path", [str(top), str(top / "tests")])  # an editable install; a test runner's path
    real = {os.path.realpath(r) for r in sandbox.read_roots([str(student)])}
    assert {str(top / "tutor"), str(top / "exercises"), str(student)} <= real
    for hidden in (top, top / "tests", top / "tests" / "solutions", top / ".git"):
        assert str(hidden) not in real, hidden
    (top / "pyproject.toml").unlink()  # an installed package: nothing beside it to hide
    assert str(top) in {os.path.realpath(r) for r in sandbox.read_roots([str(student)])}


def test_a_write_beside_the_file_is_called_a_write_not_a_read_outside_the_folder():
    """zara's rnn.py appended to run.log in her own folder: the note said "a submission may read only its own folder"."""
    from tutor.grading import failures
    from tutor.grading.model import LearnerError

    denied = LearnerError(kind="exception", type="PermissionError", message="[Errno 13] Permission denied: '/class/zara/run.log'")
    wrote = failures.at_import(denied, "rnn.py", reads_limited=True, own=["/class/zara"]).message
    assert "exercises write no files" in wrote and "may read only" not in wrote
    outside = LearnerError(kind="exception", type="PermissionError", message="[Errno 13] Permission denied: '/class/amy/rnn.py'")
    read = failures.at_import(outside, "rnn.py", reads_limited=True, own=["/class/zara"]).message
    assert "may read only its own folder" in read
    assert "write" not in failures.at_import(outside, "rnn.py").message  # a plain check: nothing to add


@pytest.mark.slow
def test_a_graded_submission_cannot_run_the_checkouts_reference_solution(tmp_path):
    """A file that exec'd tests/solutions/backprop.py, found from the worker's own path, got 15/15 done."""
    from tutor.classroom import adapter

    student = tmp_path / "class" / "mallory"
    student.mkdir(parents=True)
    (student / "backprop.py").write_text(
        "import os, sys\n"
        "top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[0]))))\n"
        "exec(open(os.path.join(top, 'tests', 'solutions', 'backprop.py')).read())\n")
    row = adapter.grade_row("mallory", "backprop", student / "backprop.py", seed=3, timeout=20, own=str(student))
    assert row.passed == 0 and row.status != "done", row


def _forged_cache(helper: Path, code_from: str) -> None:
    """A __pycache__ entry for ``helper`` holding other code, stamped with the helper's size and time."""
    import importlib.util
    import marshal
    import struct

    st = helper.stat()
    code = compile(code_from, str(helper), "exec")
    (helper.parent / "__pycache__").mkdir(exist_ok=True)
    (helper.parent / "__pycache__" / f"{helper.stem}.{sys.implementation.cache_tag}.pyc").write_bytes(
        importlib.util.MAGIC_NUMBER + struct.pack("<III", 0, int(st.st_mtime) & 0xFFFFFFFF, st.st_size & 0xFFFFFFFF)
        + marshal.dumps(code))


@pytest.mark.parametrize("mode", ["check", "grade"])
def test_a_helpers_forged_bytecode_cache_never_runs_in_place_of_its_source(tmp_path, mode):
    """helpers.py held the starter and __pycache__ a compiled solution with the same size and time: 15/15."""
    from tutor.classroom import adapter

    student = tmp_path / "class" / "eve"
    student.mkdir(parents=True)
    starter = Path(__file__).resolve().parents[1] / "exercises" / "backprop.py"
    (student / "helpers.py").write_text(starter.read_text())
    (student / "backprop.py").write_text("from helpers import *\n")
    _forged_cache(student / "helpers.py", SOLUTION)
    (student / "extra.pyc").write_bytes((student / "__pycache__" / f"helpers.{sys.implementation.cache_tag}.pyc").read_bytes())
    if mode == "check":
        report = grade("backprop", student / "backprop.py", seed=1)
        assert report.passed == 0 and not report.ok
    else:
        row = adapter.grade_row("eve", "backprop", student / "backprop.py", seed=3, timeout=20, own=str(student))
        assert row.passed == 0 and row.status != "done", row
    sourceless = student / "backprop.py"
    sourceless.write_text("from extra import *\n")  # a .pyc with no source: nothing to read, so nothing runs
    report = grade("backprop", sourceless, seed=1)
    assert report.fatal is not None and report.passed == 0 and "extra" in report.fatal.message


def test_code_hidden_in_a_utf7_comment_or_in_pycache_never_runs(tmp_path):
    """A helper declaring `coding: utf-7` turned one comment of +AAoA... into the whole solution (6/6), and
    `from __pycache__.impl import *` ran a .py that the hash and a teacher's eye both pass over."""
    import codecs

    starter = (Path(__file__).resolve().parents[1] / "exercises" / "backprop.py").read_text()
    hidden = codecs.encode("\n" + SOLUTION, "utf-7").decode("ascii")
    utf7 = tmp_path / "u7"
    utf7.mkdir()
    (utf7 / "helpers.py").write_bytes(b"# -*- coding: utf-7 -*-\n# build id: " + hidden.encode("ascii") + b"\n")
    (utf7 / "backprop.py").write_text(starter + "\nfrom helpers import *\n")
    report = grade("backprop", utf7 / "backprop.py", seed=1)
    assert report.passed == 0 and report.fatal is not None and "utf-7" in report.fatal.message
    (utf7 / "backprop.py").write_bytes(b"# -*- coding: utf-7 -*-\n" + SOLUTION.encode())
    assert grade("backprop", utf7 / "backprop.py", seed=1).passed == 0  # the graded file itself, too
    cached = tmp_path / "pc"
    (cached / "__pycache__").mkdir(parents=True)
    (cached / "__pycache__" / "impl.py").write_text(SOLUTION)
    (cached / "backprop.py").write_text(starter + "\nfrom __pycache__.impl import *\n")
    assert grade("backprop", cached / "backprop.py", seed=1).passed == 0
    latin = tmp_path / "latin"
    latin.mkdir()
    (latin / "backprop.py").write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + SOLUTION.encode())
    assert grade("backprop", latin / "backprop.py", seed=1).ok  # an encoding editors save in still runs


@pytest.mark.slow
def test_a_class_kept_inside_a_readable_system_folder_still_reads_only_its_own_files():
    """/dev/shm lies beneath /dev, which a contained run may read: the class inside it must not be."""
    import tempfile

    from tutor.classroom import adapter

    if not os.access("/dev/shm", os.W_OK):
        pytest.skip("needs a writable /dev/shm")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as folder:
        klass = Path(folder) / "class"
        for student in ("alice", "mallory"):
            (klass / student).mkdir(parents=True)
        (klass / "alice" / "backprop.py").write_text(SOLUTION)
        (klass / "mallory" / "backprop.py").write_text(f"exec(open({str(klass / 'alice' / 'backprop.py')!r}).read())\n")
        row = adapter.grade_row("mallory", "backprop", klass / "mallory" / "backprop.py", seed=3, timeout=20,
                                own=str(klass / "mallory"))
        assert row.passed == 0 and row.status == "import", row
        row = adapter.grade_row("alice", "backprop", klass / "alice" / "backprop.py", seed=3, timeout=20,
                                own=str(klass / "alice"))
        assert row.status == "done", row


@pytest.mark.slow
def test_a_function_that_writes_a_file_past_the_cap_is_disk_and_names_itself(tmp_path):
    """"importing backprop.py raised OSError: [Errno 27] File too large" said nothing of the grader's limit."""
    body = SOLUTION.replace("    x, W = cache  # (N, D), (D, M)\n",
                            "    x, W = cache  # (N, D), (D, M)\n    open('big.bin', 'wb').write(b'x' * 5_000_000)\n", 1)
    report = grade("backprop", _learner(tmp_path, "", body=body), seed=1)
    assert report.fatal is not None and report.fatal.kind == "disk", report.fatal
    assert "larger than 4 MB in dense_backward(); that call failed there" in report.fatal.message


@pytest.mark.slow
def test_prints_past_the_cap_are_an_output_stop_even_when_the_code_catches_the_limit(tmp_path):
    """A dense_forward that printed 300 kB with each print in `try: ... except BaseException: pass` was
    'done', "output_truncated": false, its prints silently cut at 100,000 characters."""
    path = tmp_path / "backprop.py"
    path.write_text(SOLUTIONS.joinpath("backprop.py").read_text().replace(
        "def dense_forward(x, W, b):\n",
        "def dense_forward(x, W, b):\n"
        "    for _ in range(3000):\n"
        "        try:\n"
        "            print('x' * 95)\n"
        "        except BaseException:\n"
        "            pass\n", 1))
    assert "range(3000)" in path.read_text()
    report = grade("backprop", path, seed=1)
    assert report.output_truncated and report.fatal is not None and report.fatal.kind == "output", report.fatal
    assert not report.ok


@pytest.mark.slow
def test_a_fork_bomb_that_reaches_the_deadline_unseen_is_called_processes_not_timeout(tmp_path, monkeypatch):
    """On a busy machine (a class graded with --jobs 8 on two cores) the deadline came before any process scan
    saw the sleeping children: the same fork bomb was `processes` in one run and `timeout` ("is there an
    infinite loop?") in the next. The count is taken at the deadline too."""
    from tutor.grading import runner

    monkeypatch.setattr(runner, "PROCESS_SCAN_SECONDS", 1e9)  # no scan before the deadline: the busy machine's case
    path = tmp_path / "backprop.py"
    path.write_text(
        "import os, time\n"
        "def dense_forward(x, W, b):\n"
        "    for _ in range(40):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(120)\n"
        "            os._exit(0)\n"
        "    time.sleep(120)\n"
    )
    _assert_stopped_for_processes(path, timeout=2)


def _assert_stopped_for_processes(path: Path, timeout: float) -> None:
    """Graded: stopped as `processes`, and none of the processes it started outlives the check."""
    before = descendants(os.getpid())
    report = grade("backprop", path, timeout=timeout)
    assert report.fatal is not None and report.fatal.kind == "processes", report.fatal
    time.sleep(0.1)
    assert not descendants(os.getpid()) - before


def test_a_run_that_ends_with_too_many_processes_alive_before_any_scan_is_called_processes(tmp_path, monkeypatch):
    """Fifty children forked at import, then a correct solution that ends before the next process scan: the run
    counted ("15/15 - all checks pass") although more than the limit of processes were alive. The count is
    taken once more when the run ends, as the disk limit is."""
    from tutor.grading import runner

    monkeypatch.setattr(runner, "PROCESS_SCAN_SECONDS", 1e9)  # no scan while it runs: a busy machine's case
    path = tmp_path / "backprop.py"
    path.write_text((SOLUTIONS / "backprop.py").read_text() + (
        "\nimport os, time\n"
        "for _ in range(40):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(120)\n"
        "        os._exit(0)\n"
    ))
    _assert_stopped_for_processes(path, timeout=20)
    few = tmp_path / "few" / "backprop.py"  # a few, under the limit: the run still counts
    few.parent.mkdir()
    few.write_text(path.read_text().replace("range(40)", "range(3)"))
    assert grade("backprop", few, timeout=20).fatal is None


def test_exactly_the_cap_of_prints_is_honest_output_not_a_flood(tmp_path):
    """print('x' * 99_999) (100,000 characters with its newline) was called a flood: the parent counted the cap
    itself as past it. print() now lets one character past the cap through before it stops a run."""
    path = tmp_path / "backprop.py"
    path.write_text(SOLUTIONS.joinpath("backprop.py").read_text() + "\nprint('x' * 99_999)\n")
    report = grade("backprop", path, seed=1)
    assert report.fatal is None and report.ok and not report.output_truncated, report.fatal
    assert len(report.output) == 100_000


def test_libtorch_is_looked_for_by_library_name_not_anywhere_in_a_path(tmp_path):
    """A course folder named ~/libtorch-course/ (or a file libtorch_notes.npy) flagged every numpy exercise."""
    from tutor.grading.runner import torch_mapped

    script = (
        "import mmap, os, sys, time\n"
        "path = os.path.join(sys.argv[1], 'libtorch-course', 'libtorch_notes.npy')\n"
        "os.makedirs(os.path.dirname(path)); open(path, 'wb').write(b'x' * 4096)\n"
        "m = mmap.mmap(os.open(path, os.O_RDONLY), 4096, prot=mmap.PROT_READ)\n"
        "print('ready', flush=True); time.sleep(30)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert b"libtorch_notes.npy" in open(f"/proc/{child.pid}/maps", "rb").read()
        assert not torch_mapped(child.pid)
    finally:
        child.kill()
        child.wait()


@pytest.mark.slow
def test_torch_in_a_child_the_learners_code_forked_is_flagged(tmp_path):
    """A file that forked a helper which imported torch and computed for it got 15/15 with no uses-torch: only
    the worker's own maps were read."""
    path = tmp_path / "backprop.py"
    path.write_text(SOLUTIONS.joinpath("backprop.py").read_text() + (
        "\nimport os, time\n"
        "if os.fork() == 0:\n"
        "    import importlib\n"
        "    importlib.import_module('to' + 'rch')\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        "time.sleep(4)\n"
    ))
    report = grade("backprop", path, seed=1)
    assert report.uses_torch, report.fatal


@pytest.mark.slow
@pytest.mark.parametrize("how", ["os.kill(os.getpid(), signal.SIGSTOP)", "os.killpg(0, signal.SIGSTOP)"])
def test_code_that_stops_its_own_process_is_called_stopped_not_an_infinite_loop(tmp_path, how):
    path = tmp_path / "backprop.py"
    path.write_text(SOLUTION + f"\nimport os, signal\n{how}\n")
    report = grade("backprop", path, timeout=1.0)
    assert report.fatal is not None and report.fatal.kind == "timeout"
    assert "stopped by a signal" in report.fatal.message and "infinite loop" not in report.fatal.message, report.fatal.message
    assert "while importing your file" in report.fatal.message


@pytest.mark.slow
def test_grade_never_imports_from_the_folder_it_is_started_in(tmp_path):
    """The fork server that grades a class ran `python -c`, whose working directory comes first on its path:
    started beside a numpy.py or a tutor/ folder, it imported them, outside any sandbox."""
    import shutil

    script = Path(sys.executable).parent / "dnn-tutor"
    if not script.exists():
        pytest.skip("dnn-tutor is not installed beside this Python")
    here, klass, marks = tmp_path / "here", tmp_path / "class", tmp_path / "marks"
    for folder in (here, klass, marks, here / "tutor"):
        folder.mkdir()
    for name in ("numpy.py", "torch.py", "tutor/__init__.py"):
        (here / name).write_text(f"open({str(marks / name.replace('/', '_'))!r}, 'w').close()\n")
    shutil.copy(SOLUTIONS / "backprop.py", klass / "alice.py")
    env = {**os.environ, "DNN_TUTOR_HOME": str(tmp_path / "home")}
    done = subprocess.run([str(script), "grade", str(klass), "-e", "backprop", "-o", str(tmp_path / "g.csv"), "--json"],
                          cwd=here, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert not list(marks.iterdir()), "a module from the working folder was imported"
    assert '"status": "done"' in done.stdout


def test_a_module_started_by_its_own_argv_imports_nothing_from_the_working_folder(tmp_path):
    """The notebook's grading process and the reader's runs start through tutor.pyproc.module_argv: even the
    modules its own start-up needs (warnings, types, importlib...) never come from the folder it runs in."""
    from tutor.pyproc import module_argv

    marks = tmp_path / "marks"
    marks.mkdir()
    for name in ("warnings", "types", "functools", "collections", "contextlib", "numpy", "tutor"):
        (tmp_path / f"{name}.py").write_text(f"open({str(marks / name)!r}, 'w').close()\n")
    done = subprocess.run(module_argv("tutor", "--version"), cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DNN_TUTOR_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in marks.iterdir()) == []
