"""Ctrl-C, SIGTERM and SIGHUP are held while torch first imports, then handled as usual.

Without the hold, a KeyboardInterrupt raised inside torch's C++ start-up aborts the process
("terminate called after throwing an instance of 'pybind11::error_already_set'", exit 134)."""

from __future__ import annotations

import signal
import sys
import threading

import pytest

from tutor import import_guard


def test_ctrl_c_in_the_block_is_handled_after_it():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with import_guard.signals_held():
            signal.raise_signal(signal.SIGINT)
            done.append("the rest of the block ran")
    assert done == ["the rest of the block ran"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_programs_own_handler_gets_the_first_signal_after_the_block():
    seen = []

    def handler(signum, frame):
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with import_guard.signals_held():
            signal.raise_signal(signal.SIGTERM)
            assert seen == []  # held
        assert seen == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_ignored_signals_stay_ignored():
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with import_guard.signals_held():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            signal.raise_signal(signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_outside_the_main_thread_it_changes_nothing():
    errors = []

    def run():
        try:
            with import_guard.signals_held():
                pass
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert errors == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_guarded_import_finishes_before_ctrl_c_lands(tmp_path, monkeypatch):
    package = tmp_path / "slowstart"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import signal\nsignal.raise_signal(signal.SIGINT)  # Ctrl-C in the middle of the import\nfinished = True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(import_guard, "GUARDED", frozenset({"slowstart"}))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, "slowstart", raising=False)
    import_guard.install()
    import_guard.install()
    assert sys.meta_path.count(import_guard._finder) == 1
    try:
        with pytest.raises(KeyboardInterrupt):
            __import__("slowstart")  # the handler ran after the module's last line
        module = __import__("slowstart")  # torch cannot start twice: the next import gets the same module
        assert module.finished is True
        assert __import__("slowstart") is module and sys.modules["slowstart"] is module
        assert type(module.__loader__).__name__ == "SourceFileLoader"  # the real loader is put back
        assert module.__spec__.loader is module.__loader__ and module.__spec__.origin.endswith("__init__.py")
    finally:
        sys.modules.pop("slowstart", None)


def test_a_guarded_import_without_a_signal_is_an_ordinary_import(tmp_path, monkeypatch):
    (tmp_path / "quietstart.py").write_text("value = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(import_guard, "GUARDED", frozenset({"quietstart"}))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    import_guard.install()
    try:
        module = __import__("quietstart")
        assert module.value == 42 and type(module.__loader__).__name__ == "SourceFileLoader"
        assert module.__spec__.loader is module.__loader__
    finally:
        sys.modules.pop("quietstart", None)


def test_without_the_guard_the_same_import_is_cut_short(tmp_path, monkeypatch):
    package = tmp_path / "slowstart2"
    package.mkdir()
    (package / "__init__.py").write_text("import signal\nsignal.raise_signal(signal.SIGINT)\nfinished = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        __import__("slowstart2")
    assert "slowstart2" not in sys.modules  # what the guard prevents: an import stopped half-way


def test_a_second_signal_while_one_is_held_ends_the_process_at_once():
    """A slow import must not keep a learner waiting: the second Ctrl-C acts now, as its default does."""
    import subprocess

    probe = (
        "import signal, sys\n"
        "from tutor import import_guard\n"
        "with import_guard.signals_held():\n"
        "    signal.raise_signal(signal.SIGINT)\n"
        "    print('held one', flush=True)\n"
        "    signal.raise_signal(signal.SIGINT)\n"
        "    print('still here', flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGINT
    assert done.stdout == "held one\n" and "Traceback" not in done.stderr


def _package(root, name, body):
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(body)


def test_torch_imported_by_torchvision_gets_one_ctrl_c_after_the_outer_import(tmp_path, monkeypatch):
    """The inner import (torch, imported by torchvision) hands the signal to the outer hold and stands."""
    _package(tmp_path, "outerpkg", "import innerpkg\nfinished = True\n")
    _package(tmp_path, "innerpkg", "import signal\nsignal.raise_signal(signal.SIGINT)\nfinished = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(import_guard, "GUARDED", frozenset({"outerpkg", "innerpkg"}))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    import_guard.install()
    try:
        with pytest.raises(KeyboardInterrupt):
            __import__("outerpkg")
        assert sys.modules["innerpkg"].finished is True
        assert sorted(import_guard._finished) == ["outerpkg"]  # nothing stale for the inner one
        assert __import__("outerpkg").finished is True
        assert import_guard._finished == {}
    finally:
        for name in ("outerpkg", "innerpkg"):
            sys.modules.pop(name, None)
        import_guard._finished.clear()


def test_before_the_import_the_spec_answers_like_the_real_loader(tmp_path, monkeypatch):
    import importlib.util

    _package(tmp_path, "lookedup", "value = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(import_guard, "GUARDED", frozenset({"lookedup"}))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    import_guard.install()
    spec = importlib.util.find_spec("lookedup")
    assert spec.loader.is_package("lookedup") is True
    assert spec.loader.get_filename("lookedup").endswith("__init__.py")
    assert "value = 1" in spec.loader.get_source("lookedup")
    sys.modules.pop("lookedup", None)


def test_a_guarded_import_runs_with_the_collector_paused_and_freezes_what_it_made(tmp_path):
    """Collections during `import torch` free nothing and the first full one after it walked every object
    again: paused, then frozen (0.3 s of CPU time a command that imports torch). They stay frozen as the
    process ends (the shutdown collections walked them all once more: 0.4 s of CPU time after torch),
    except where triton is loaded: its nanobind objects must be freed, or each prints a leak warning."""
    import json
    import subprocess

    (tmp_path / "torch.py").write_text("import gc\nDURING = gc.isenabled()\nKEPT = [[i] for i in range(50_000)]\n")
    probe = (
        "import gc, json, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from tutor import import_guard\n"
        "import_guard.install()\n"
        "import atexit\n"
        "atexit.register(lambda: print('at exit, frozen:', gc.get_freeze_count() >= 50_000))\n"  # runs after the guard's own
        "if sys.argv[1] == 'off':\n    gc.disable()\n"
        "import torch\n"
        "if sys.argv[2] == 'triton':\n    sys.modules['triton'] = sys\n"
        "print(json.dumps([torch.DURING, gc.isenabled(), gc.get_freeze_count() >= 50_000]))\n"
    )
    for collector, loaded, expected, frozen_at_exit in (("on", "-", [False, True, True], True),
                                                        ("on", "triton", [False, True, True], False),
                                                        ("off", "-", [False, False, False], False)):
        out = subprocess.run([sys.executable, "-c", probe, collector, loaded], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert json.loads(lines[0]) == expected, (collector, out.stdout)
        assert lines[1] == f"at exit, frozen: {frozen_at_exit}", (collector, loaded, out.stdout)


def test_a_second_ctrl_c_while_torch_loads_erases_the_loading_line_before_it_ends_the_process(tmp_path):
    """Two quick Ctrl-C presses while PyTorch loaded left `loading PyTorch…^C^C` on the learner's line: the
    second one ends the process at once (as promised), and now erases the notice first."""
    import subprocess

    (tmp_path / "torch.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\nos.kill(os.getpid(), signal.SIGINT)\n")
    probe = (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from tutor import import_guard\n"
        "def notice(name):\n"
        "    print('NOTICE', name, flush=True)\n"
        "    return lambda: print('ERASED', flush=True)\n"
        "import_guard.install(notice=notice)\n"
        "import torch\n"
        "print('NOT REACHED', flush=True)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == -signal.SIGINT, (out.returncode, out.stdout, out.stderr)  # ended by the second Ctrl-C
    assert out.stdout.split("\n")[:2] == ["NOTICE torch", "ERASED"], out.stdout
