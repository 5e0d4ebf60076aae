"""The grading engine: references, diagnostics plumbing and the isolation of learner code."""

from __future__ import annotations

import re
import time

import pytest

from test_grading_helpers import SOLUTIONS, STARTERS, assert_diagnosis, failing, grade, planted

EXERCISES = ["backprop", "dropout", "batchnorm", "optimizers", "conv", "rnn", "lstm", "transfer"]
# The transfer exercise starts torch in the child too: seconds, not a fraction of one.
PARAMS = [pytest.param(e, marks=pytest.mark.slow) if e == "transfer" else e for e in EXERCISES]


def _available(exercise: str) -> bool:
    return (SOLUTIONS / f"{exercise}.py").exists() and (STARTERS / f"{exercise}.py").exists()


@pytest.mark.parametrize("exercise", PARAMS)
def test_every_starter_reports_not_started(exercise):
    report = grade(exercise, STARTERS / f"{exercise}.py")
    assert report.fatal is None
    assert report.status == "not started", failing(report)
    assert report.passed == 0 and report.total >= 3
    assert all(c.not_started for c in report.checks)


@pytest.mark.parametrize("exercise", PARAMS)
def test_every_solution_passes(exercise):
    report = grade(exercise, SOLUTIONS / f"{exercise}.py", seed=11)
    assert report.fatal is None, report.fatal
    assert report.ok, failing(report)


def _renamed_parameters(source: str) -> str:
    """Every function of ``source`` with each parameter renamed (``lr`` -> ``lr_``), defaults kept,
    and its first line putting the old names back: the same code under other parameter names."""
    import ast

    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.args.args:
            names = [a.arg for a in node.args.args]
            for a in node.args.args:
                a.arg += "_"
            back = ast.parse(f"{', '.join(names)}, = {', '.join(n + '_' for n in names)},").body
            start = 1 if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) else 0
            node.body[start:start] = back
    return ast.unparse(ast.fix_missing_locations(tree))


@pytest.mark.slow
@pytest.mark.parametrize("exercise", [e for e in EXERCISES if e != "transfer"])
def test_a_solution_with_its_parameters_renamed_passes(exercise, tmp_path):
    """adam(params, grads, st, learning_rate, b1, b2, epsilon) got 2/6 and conv2d_forward(x, w, b, s=1, p=0)
    0/6 ("unexpected keyword argument 'lr'"): the checks passed keywords by the starter's names."""
    renamed = tmp_path / f"{exercise}.py"
    renamed.write_text(_renamed_parameters((SOLUTIONS / f"{exercise}.py").read_text()))
    assert "lr_" in renamed.read_text() or exercise != "optimizers"
    report = grade(exercise, renamed, seed=11)
    assert report.fatal is None, report.fatal
    assert report.ok, failing(report)


def test_a_keyword_the_learner_names_goes_by_name_never_into_another_place(tmp_path):
    """conv2d_forward(x, w, b, pad=0, s=1) with `stride, pad = pad, s` (wrong) got 6/6: every keyword was placed
    by the starter's order, so stride landed in pad and pad in s."""
    source = (SOLUTIONS / "conv.py").read_text()
    header = re.search(r"def conv2d_forward\(x, w, b, stride=1, pad=0\):\n", source)
    assert header is not None
    swapped = tmp_path / "conv.py"
    swapped.write_text(source.replace(header.group(0), "def conv2d_forward(x, w, b, pad=0, s=1):\n    stride, pad = pad, s\n"))
    report = grade("conv", swapped, seed=11)
    assert not report.ok
    assert not {c.id: c for c in report.checks}["conv2d_forward.values"].passed


@pytest.mark.slow
@pytest.mark.parametrize("exercise", ["backprop", "batchnorm", "conv"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_solutions_pass_for_several_seeds(exercise, seed):
    report = grade(exercise, SOLUTIONS / f"{exercise}.py", seed=seed)
    assert report.ok, failing(report)


@pytest.mark.slow
def test_same_seed_same_inputs_and_no_seed_draws_new_ones(tmp_path):
    from tutor.grading.engine import build_plan

    a, b = build_plan("backprop", 5), build_plan("backprop", 5)
    x_a, x_b = a.jobs[0]["steps"][0]["args"][0], b.jobs[0]["steps"][0]["args"][0]
    assert (x_a == x_b).all()
    c = build_plan("backprop", 6)
    assert not (c.jobs[0]["steps"][0]["args"][0] == x_a).all()
    r1 = grade("backprop", SOLUTIONS / "backprop.py", seed=None)
    r2 = grade("backprop", SOLUTIONS / "backprop.py", seed=None)
    assert r1.seed != r2.seed


def test_check_never_modifies_the_learner_file(tmp_path):
    path = planted(tmp_path, "backprop", ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    before = path.read_bytes(), path.stat().st_mtime_ns
    grade("backprop", path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_learner_cannot_change_the_verdict_by_patching_numpy(tmp_path):
    # A module that monkeypatches numpy's comparison helpers only affects the child.
    path = tmp_path / "backprop.py"
    path.write_text(
        (STARTERS / "backprop.py").read_text()
        + "\nimport numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.linalg.norm = lambda *a, **k: 0.0\n"
    )
    report = grade("backprop", path)
    assert report.passed == 0


# ---------------------------------------------------------------- isolation


def _bounded(exercise, path, timeout, limit):
    started = time.monotonic()
    report = grade(exercise, path, timeout=timeout)
    elapsed = time.monotonic() - started
    assert elapsed < limit, f"took {elapsed:.1f} s"
    assert not report.ok
    assert report.fatal is not None
    assert "\n" not in report.fatal.message
    return report


@pytest.mark.slow
def test_infinite_loop_times_out(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text("def dense_forward(x, W, b):\n    while True:\n        pass\n")
    report = _bounded("backprop", path, timeout=0.5, limit=20)  # a short timeout: the loop burns a core until then
    assert report.fatal.kind == "timeout"
    assert "dense_forward" in report.fatal.message and "0.5 s" in report.fatal.message


def _looping(source: str, line: str, instead: str) -> str:
    assert line in source
    return source.replace(line, line + instead, 1)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["own", "helper", "handler-replaced"])
def test_a_timeout_names_the_function_that_loops_and_its_line(tmp_path, where):
    """A loop in dense_backward was reported "while running dense_forward()" (the job's first function)."""
    solution = (SOLUTIONS / "backprop.py").read_text()
    start = "    x, W = cache  # (N, D), (D, M)\n"
    if where == "own":
        source = _looping(solution, start, "    n = 0\n    while True:\n        n += 1\n")
    elif where == "helper":
        source = _looping(solution, start, "    _spin()\n") + "\n\ndef _spin():\n    while True:\n        pass\n"
    else:  # the learner's code took SIGUSR1: the function the grader called is still named
        source = _looping(solution, start, "    import signal\n    signal.signal(signal.SIGUSR1, signal.SIG_IGN)\n"
                                           "    while True:\n        pass\n")
    path = tmp_path / "backprop.py"
    path.write_text(source)
    report = _bounded("backprop", path, timeout=0.5, limit=20)
    message = report.fatal.message
    assert report.fatal.kind == "timeout" and "while running dense_backward()" in message, message
    assert "dense_forward" not in message
    if where in ("own", "helper"):
        found = re.search(r"stuck at line (\d+)(?: in (\w+)\(\))? \((.*?)\):", message)
        assert found, message
        line, function, code = int(found.group(1)), found.group(2), found.group(3)
        assert source.splitlines()[line - 1].strip() == code in ("while True:", "n += 1", "pass")
        assert function == ("_spin" if where == "helper" else None)
    else:
        assert "stuck at" not in message

@pytest.mark.slow
def test_a_loop_at_the_top_of_the_file_names_its_line(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text("import numpy as np\nn = 0\nwhile True:\n    n += 1\n")
    report = _bounded("backprop", path, timeout=0.5, limit=20)
    assert report.fatal.kind == "timeout"
    assert re.search(r"while importing your file, stuck at line [34] \((while True:|n \+= 1)\)", report.fatal.message), report.fatal.message
    path.write_text("import numpy as np\nx = [i for i in iter(int, 1)]\n")  # inside a comprehension's own frame
    report = _bounded("backprop", path, timeout=0.5, limit=20)
    assert "stuck at line 2 (x = [i for i in iter(int, 1)])" in report.fatal.message, report.fatal.message


@pytest.mark.slow
def test_memory_hog_is_stopped(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text(
        "import numpy as np\nhoard = []\n"
        "def dense_forward(x, W, b):\n    while True:\n        hoard.append(np.empty(10**8))\n"
    )
    report = _bounded("backprop", path, timeout=20, limit=40)
    assert report.fatal.kind == "memory"
    assert "dense_forward" in report.fatal.message


def test_sys_exit_at_import(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text("import sys\nsys.exit(3)\n")
    report = _bounded("backprop", path, timeout=20, limit=40)
    assert report.fatal.kind == "exit"
    assert "sys.exit(3)" in report.fatal.message


def test_os_abort_is_a_crash(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text("import os\ndef dense_forward(x, W, b):\n    os.abort()\n")
    report = _bounded("backprop", path, timeout=20, limit=40)
    assert report.fatal.kind == "crash"
    assert "SIGABRT" in report.fatal.message


def test_megabytes_of_printing_are_capped(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text("for i in range(10**6):\n    print('la la la la la la la la la la', i)\n")
    report = _bounded("backprop", path, timeout=20, limit=40)
    assert report.fatal.kind == "output"
    assert len(report.output) <= 100_000


def test_raw_fd_writes_are_capped_too(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text("import os\nfor i in range(10**6):\n    os.write(1, b'x' * 100)\n")
    report = _bounded("backprop", path, timeout=20, limit=40)
    assert report.fatal.kind == "output"


def test_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text("import numpy as np\n\ndef dense_forward(x, W, b)\n    return x\n")
    report = _bounded("backprop", path, timeout=20, limit=40)
    assert report.fatal.kind == "syntax"
    assert str(path) in report.fatal.message and "line 3" in report.fatal.message
    assert report.fatal.error.line == 3


def test_exception_shows_the_learner_line(tmp_path):
    path = planted(tmp_path, "backprop", ("    x, W = cache", "    x, W = cache\n    W = W[5, 5, 5]"))
    report = grade("backprop", path)
    check = {c.id: c for c in report.checks}["dense_backward.reference"]
    assert not check.passed and check.code == "exception"
    assert "IndexError" in check.message and "W = W[5, 5, 5]" in check.message
    assert check.trace and all(frame.file == str(path) for frame in check.trace)
    assert check.trace[-1].line == 14


def test_prints_are_captured_separately(tmp_path):
    path = planted(tmp_path, "backprop", ("    out = x @ W + b  # (N, M)", "    print('shape', x.shape)\n    out = x @ W + b  # (N, M)"))
    report = grade("backprop", path)
    assert report.ok, failing(report)
    assert "shape (" in report.output


def test_child_has_no_access_to_parent_stdout(tmp_path, capfd):
    path = planted(tmp_path, "backprop", ("import numpy as np", "import numpy as np\nimport os\nos.write(1, b'LEAK')\n"))
    grade("backprop", path)
    captured = capfd.readouterr()
    assert "LEAK" not in captured.out


# ---------------------------------------------------------------- catalogue and starters

LESSONS = {"backprop": 2, "dropout": 3, "batchnorm": 3, "optimizers": 4, "conv": 5, "rnn": 6, "lstm": 6, "transfer": 7}


def test_catalogue_is_complete_and_consistent():
    import ast

    from tutor.grading import catalogue

    entries = catalogue.load()
    assert list(entries) == EXERCISES
    for info in entries.values():
        assert info.lesson == LESSONS[info.id]
        assert info.file == f"{info.id}.py" and info.title and info.summary
        assert len(info.hints) >= 3 and all(h.strip() for h in info.hints)
        assert info.tailored and all(t.strip() for t in info.tailored.values())
        for path in (STARTERS / info.file, SOLUTIONS / info.file):
            tree = ast.parse(path.read_text())
            defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
            assert set(info.functions) <= defined, (path, set(info.functions) - defined)


def test_starters_have_todos_and_raise_naming_the_function():
    import ast

    from tutor.grading import catalogue

    for info in catalogue.load().values():
        text = (STARTERS / info.file).read_text()
        tree = ast.parse(text)
        assert ast.get_docstring(tree)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in info.functions:
                assert ast.get_docstring(node), f"{info.id}.{node.name} has no docstring"
                body = ast.get_source_segment(text, node)
                assert "# TODO:" in body, f"{info.id}.{node.name} has no TODO"
                assert f'raise NotImplementedError("{node.name}")' in body
        assert text != (SOLUTIONS / info.file).read_text()


def test_result_channel_refuses_arbitrary_objects():
    import pickle

    from tutor.grading.runner import safe_loads

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError):
        safe_loads(pickle.dumps(Evil()))
    import numpy as np

    data = safe_loads(pickle.dumps({"a": np.arange(3.0), "b": (np.float64(2.0), 1, None)}))
    assert data["a"].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.slow
def test_torch_tensor_returned_instead_of_array(tmp_path):
    path = planted(tmp_path, "backprop", ("    out = x @ W + b  # (N, M)", "    import torch\n    out = torch.tensor(x @ W + b)"))
    report = grade("backprop", path, seed=2)
    assert_diagnosis(report, "dense_forward.values", "not-array", "torch", "numpy array")


def test_import_error_at_module_level_shows_line(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text("import numpy as np\n\nvalue = 1 / 0\n")
    report = grade("backprop", path)
    assert report.fatal.kind == "import"
    assert "ZeroDivisionError" in report.fatal.message and "line 3" in report.fatal.message


@pytest.mark.slow
def test_debug_prints_in_a_forward_do_not_flood_the_report(tmp_path):
    # Finite differences call the forward hundreds of times; its prints are shown once per regular call.
    path = planted(tmp_path, "backprop", ("    out = x @ W + b  # (N, M)", "    print('dense input', x)\n    out = x @ W + b  # (N, M)"))
    report = grade("backprop", path, seed=1)
    assert report.ok, failing(report)
    assert report.fatal is None
    assert report.output.count("dense input") < 40


WEIRD = ["[1, 2]", "np.zeros(3, dtype=object)", "(np.ones((2, 2)),) * 7", "'text'", "(None, None)", "np.float32(1)", "{'a': 1}", "tuple(args)"]


@pytest.mark.parametrize("exercise", PARAMS)
def test_odd_return_values_fail_cleanly(tmp_path, exercise):
    # Every function returns something odd (a different thing per function): no check may pass on
    # values, and the grader itself must never trip ("unreadable") or stop.
    from tutor.grading import catalogue

    info = catalogue.find(exercise)
    body = "import numpy as np\n"
    for i, fn in enumerate(info.functions):
        body += f"def {fn}(*args, **kwargs):\n    return {WEIRD[i % len(WEIRD)]}\n"
    path = tmp_path / f"{exercise}.py"
    path.write_text(body)
    report = grade(exercise, path, seed=1)
    assert report.fatal is None
    assert not any(c.code == "unreadable" for c in report.checks), [c.message for c in report.checks]
    assert not report.ok


def test_centred_differences_skip_kinks_and_retry_step_sizes():
    import numpy as np

    from tutor.grading.worker import Runner

    def relu_sum(args):
        return float(np.maximum(args[0], 0.0).sum())

    x = np.array([0.5, 3e-6, -2e-6, 1e-9, -0.7])
    flat = x.reshape(-1)
    values = [Runner._centred(relu_sum, [x], flat, i) for i in range(x.size)]
    assert values[0] == pytest.approx(1.0) and values[4] == pytest.approx(0.0)
    assert values[1] == pytest.approx(1.0)  # 3e-6 from the kink: the smaller step gets past it
    assert values[2] == pytest.approx(0.0)
    assert np.isnan(values[3])  # right at the kink: skipped
    assert x.tolist() == [0.5, 3e-6, -2e-6, 1e-9, -0.7]  # inputs restored
