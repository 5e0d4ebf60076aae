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
