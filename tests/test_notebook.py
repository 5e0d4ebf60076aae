"""The Jupyter extension: ``%load_ext tutor``, ``%%dnn_check`` and ``%dnn_hint``.

The slow test executes a real notebook in an ipykernel with nbclient: a
correct cell passes and its functions exist afterwards, a buggy cell shows its
diagnosis, a looping cell is not run in the kernel, and torch never loads into
the kernel (the grading runs in a process of its own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "tests" / "solutions"

SOLUTION = (SOLUTIONS / "backprop.py").read_text()


@pytest.mark.slow
def test_loading_the_extension_registers_the_magics_without_torch():
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_line_magic('load_ext', 'tutor')\n"
        "magics = shell.magics_manager.magics\n"
        "print('dnn_check' in magics['cell'], 'dnn_hint' in magics['line'], 'torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "False"]


def test_the_graded_source_keeps_the_cells_line_numbers():
    from tutor.notebook import cell_source

    cell = "def dense_forward(x, W, b):\n    return np.dot(x, W) + b, None\n"
    graded = cell_source(cell)
    assert graded.startswith(cell) and graded.rstrip().endswith("the cell is graded on its own")
    assert "import numpy as np" in graded.splitlines()[-1]
    own = "import numpy as np\n" + cell
    assert cell_source(own) == own


def test_bad_magic_arguments_are_one_usage_line():
    from IPython.core.error import UsageError

    from tutor.notebook import _check_parser, _find

    with pytest.raises(UsageError, match="unknown exercise 'nope'"):
        _find("nope")
    from tutor.notebook import grade_cell

    with pytest.raises(UsageError, match="--seed: expected a whole number from 0 to 9,223,372,036,854,775,807, got 'x'"):
        grade_cell("backprop", "x = 1\n", seed=_check_parser().parse_args(["backprop", "--seed", "x"]).seed)
    with pytest.raises(UsageError, match="--timeout: expected a number of seconds from 0.5 to 3,600, got '1_0'"):
        grade_cell("backprop", "x = 1\n", timeout=_check_parser().parse_args(["backprop", "--timeout", "1_0"]).timeout)


@pytest.mark.parametrize("kind, runs", [(None, True), ("import", True), ("processes", False), ("timeout", False),
                                        ("crash", False), ("exit", False), ("protocol", False), ("memory", False),
                                        ("output", False), ("syntax", False), ("something new", False)])
def test_the_cell_runs_in_the_kernel_only_after_a_clean_report_or_an_import_error(monkeypatch, kind, runs):
    """A cell that stopped the grader (a fork bomb stopped as "processes", a time-out …) would do the same,
    uncontained, in the kernel: only a normal report or an exception while importing lets it run there."""
    import tutor.classroom.adapter
    import tutor.notebook as notebook
    import tutor.render.grading
    from tutor.grading.model import Fatal, Report

    report = Report("backprop", "cell", "0" * 64, 1, (), None if kind is None else Fatal(kind, "stopped"), "", False, 0.1)
    monkeypatch.setattr(notebook, "grade_cell", lambda *a, **k: {"report": {}})
    monkeypatch.setattr(tutor.classroom.adapter, "report_from_dict", lambda data: report)
    monkeypatch.setattr(tutor.render.grading, "render_report", lambda *a, **k: "")
    ran = []

    class Shell:
        def run_cell(self, cell, store_history=False):
            ran.append(cell)

    magics = notebook.TutorMagics.__new__(notebook.TutorMagics)
    magics.shell = Shell()
    notebook.TutorMagics.dnn_check(magics, "backprop", "x = 1\n")
    assert ran == (["x = 1\n"] if runs else [])


def test_an_interrupted_check_is_one_line_and_an_unsaved_attempt_says_so(monkeypatch, capsys):
    """Interrupting the kernel mid-grade showed a traceback through dnn-tutor's own code; an attempt the
    store could not keep (a full disk, a read-only home) was dropped without a word."""
    import tutor.classroom.adapter
    import tutor.notebook as notebook
    import tutor.render.grading
    from tutor.grading.model import Report

    class Shell:
        def run_cell(self, cell, store_history=False):
            ran.append(cell)

    ran: list = []
    magics = notebook.TutorMagics.__new__(notebook.TutorMagics)
    magics.shell = Shell()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(notebook, "grade_cell", interrupted)
    notebook.TutorMagics.dnn_check(magics, "backprop", "x = 1\n")
    assert ran == [] and capsys.readouterr().err.strip() == "error: grading interrupted; the cell was not run"

    report = Report("backprop", "cell", "0" * 64, 1, (), None, "", False, 0.1)
    monkeypatch.setattr(notebook, "grade_cell", lambda *a, **k: {"report": {}, "unsaved": "could not save: the disk is full; it was NOT saved",
                                                                 "warnings": ["progress database moved aside"]})
    monkeypatch.setattr(tutor.classroom.adapter, "report_from_dict", lambda data: report)
    monkeypatch.setattr(tutor.render.grading, "render_report", lambda *a, **k: "")
    notebook.TutorMagics.dnn_check(magics, "backprop", "x = 1\n")
    err = capsys.readouterr().err
    assert "NOT saved" in err and "warning: progress database moved aside" in err


@pytest.mark.slow
def test_the_notebook_worker_passes_on_why_an_attempt_was_not_saved(tmp_path, monkeypatch):
    from tutor.classroom import worker_process
    from tutor.errors import StoreError
    from tutor.store import Store

    def full(*args, **kwargs):
        raise StoreError("could not save it: the disk is full; it was NOT saved")

    monkeypatch.setattr(Store, "record_attempt", full)
    path = tmp_path / "backprop.py"
    path.write_text(SOLUTION)
    answer = worker_process._handle({"mode": "check", "exercise": "backprop", "path": str(path), "seed": 3, "timeout": 20.0})
    assert answer["report"]["passed"] == 15 and "NOT saved" in answer["unsaved"]


def _notebook(cells: list[str]):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    return nb


def _text(cell) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("display_data", "execute_result"):
            parts.append(output.data.get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "\n".join(parts)


@pytest.mark.slow
def test_a_real_notebook_grades_cells_in_a_kernel(tutor_home, tmp_path):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient import NotebookClient

    buggy = SOLUTION.replace("db = dout.sum(axis=0)", "db = dout.mean(axis=0)")
    assert buggy != SOLUTION
    loop = "import numpy as np\n\ndef dense_forward(x, W, b):\n    return x @ W + b, None\n\nwhile True:\n    pass\n"
    nb = _notebook(
        [
            "import sys\n%load_ext tutor\nprint('torch loaded:', 'torch' in sys.modules)",
            "%%dnn_check backprop --seed 3\n" + SOLUTION,
            "print('exists:', callable(dense_forward), dense_backward.__name__)",
            "del dense_forward\n",
            "%%dnn_check backprop --seed 3\n" + buggy,
            "%dnn_hint backprop\ndel dense_forward",
            "%%dnn_check backprop --timeout 2\n" + loop,
            "print('after loop:', 'dense_forward' in globals())\nprint('torch loaded:', 'torch' in sys.modules)",
            "%%dnn_check nope\nx = 1",
            "%%dnn_check backprop --seed 3\nimport numpy as np\n\ndef dense_forward(x, W, b)\n    return x @ W + b, None\n",
        ]
    )
    env = dict(os.environ, DNN_TUTOR_HOME=str(tutor_home), NO_COLOR="1")
    client = NotebookClient(nb, timeout=400, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    texts = [_text(cell) for cell in nb.cells]

    assert "torch loaded: False" in texts[0]
    assert "15/15 checks" in texts[1] and "all checks pass" in texts[1]
    assert "exists: True dense_backward" in texts[2]  # the cell also ran in the kernel
    assert "bias-averaged" in texts[4] and "averaged over the batch" in texts[4] and "15/15" not in texts[4]
    assert "%dnn_hint backprop" in texts[4]
    assert "dnn-tutor hint" not in texts[4] + texts[5]  # a notebook names the notebook's own hint command
    assert "sum over the batch" in texts[5] or "bias gradient is a sum" in texts[5]  # the hint about that mistake
    assert "timeout" in texts[6] and "not run in the kernel" in texts[6]
    assert "after loop: False" in texts[7]  # the looping cell never ran in the kernel
    assert "torch loaded: False" in texts[7]  # grading never loads torch into the kernel
    assert "unknown exercise 'nope'" in texts[8] and "Traceback" not in texts[8]
    # a syntax error is shown once, by the grader: the cell is not run again in the kernel to fail there too
    assert "syntax" in texts[9] and "line 3" in texts[9] and "not run in the kernel" in texts[9]
    assert [o.output_type for o in nb.cells[9].outputs if o.output_type == "error"] == []

    # progress is recorded in the learner's store, as `check` records it
    result = subprocess.run(
        [sys.executable, "-m", "tutor", "exercises", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    backprop = next(e for e in json.loads(result.stdout) if e["id"] == "backprop")
    assert backprop["status"] == "done"
    assert not list(Path(tmp_path).glob("*.py"))  # the graded cells were temporary files elsewhere


@pytest.mark.slow
def test_a_cell_graded_from_a_thread_leaves_the_grader_running_for_the_next_cell(tmp_path, monkeypatch):
    """The grader dies with the thread that started it (PR_SET_PDEATHSIG): it must be started from one
    that lives as long as the kernel, so a cell graded from a short-lived thread costs the next nothing.
    A random.py or numpy.py beside the notebook is never imported by the grading process."""
    import threading

    from tutor.classroom.notebook_worker import NotebookWorker
    from tutor.classroom.pool import Task

    for shadow in ("random.py", "numpy.py", "tempfile.py"):  # the notebook's folder is where the kernel runs
        (tmp_path / shadow).write_text("raise SystemExit(3)\n")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "backprop.py"
    path.write_text(SOLUTION)
    grader = NotebookWorker()
    answers: list[dict] = []
    try:
        thread = threading.Thread(target=lambda: answers.append(grader.request(Task("notebook", "backprop", str(path), 3, 20.0, mode="check"))))
        thread.start()
        thread.join(120)
        assert not thread.is_alive() and "report" in answers[0], answers
        assert all(c["passed"] for c in answers[0]["report"]["checks"]), answers
        first = grader.worker.proc.pid
        time.sleep(1.0)  # the signal that ends a worker whose starting thread is gone comes at once
        assert grader.worker.proc.poll() is None, "the grader ended with the thread that started it"
        answers.append(grader.request(Task("notebook", "backprop", str(path), 3, 20.0, mode="check")))
        assert "report" in answers[1] and grader.worker.proc.pid == first
    finally:
        grader.close()


def test_a_hint_in_the_notebook_names_the_notebooks_check():
    from tutor.grading import catalogue, hints
    from tutor.notebook import _in_notebook_words

    info = catalogue.load()["backprop"]
    first = hints.Hint("backprop", info.hints[0], "ladder", 1, len(info.hints))
    assert "dnn-tutor check" in first.text
    said = _in_notebook_words(first, info).text
    assert "%%dnn_check backprop" in said and "dnn-tutor check" not in said


def test_magics_and_shell_lines_are_not_graded_but_keep_the_line_numbers():
    from tutor.notebook import cell_source

    cell = "%matplotlib inline\nimport numpy as np\ndef f(x):\n    !echo hi\n    return x % 2\ns = '''\n%kept inside a string\n'''\n"
    graded = cell_source(cell)
    lines = graded.split("\n")
    assert lines[0].startswith("pass  # %matplotlib inline") and lines[3].startswith("    pass  # !echo hi")
    assert "%kept inside a string" in lines[6] and "return x % 2" in lines[4]
    compile(graded, "<cell>", "exec")


EXPORTED = (  # what File > Save and Export As > Python writes for a notebook with magics and shell lines
    "#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\nimport numpy as np\n"
    "get_ipython().run_line_magic('matplotlib', 'inline')\n\n\n# In[2]:\n\n\n"
    + SOLUTION
    + "\n\n# In[3]:\n\n\nget_ipython().system('pip list | head -2')\n"
    "get_ipython().run_cell_magic('time', '', 'x = 1\\n')\nif True:\n    !ls\n%timeit 1 + 1\n"
    "text = '''\n%not a magic: inside a string\n'''\n"
)


def test_ipython_only_statements_become_pass_and_keep_every_line_number():
    from tutor.grading.ipython import without_ipython

    graded, lines = without_ipython(EXPORTED)
    before, after = EXPORTED.split("\n"), graded.split("\n")
    assert len(before) == len(after)
    assert lines == tuple(i + 1 for i, line in enumerate(before) if "get_ipython()" in line or line.strip().startswith(("!", "%timeit")))
    assert all(after[n - 1].strip().startswith(("pass  # ", "exec('x = 1\\n')  # ")) for n in lines), [after[n - 1] for n in lines]
    assert "%not a magic: inside a string" in after  # a string's text is left as it is
    compile(graded, "exported.py", "exec")  # the rest is Python
    assert without_ipython("x = 1\n") == ("x = 1\n", ())
    assert without_ipython("s = '''\n") == ("s = '''\n", ())  # does not tokenize: Python says what is wrong


@pytest.mark.slow
def test_a_notebook_exported_as_python_is_graded_by_check_and_grade(tmp_path, runner):
    """A correct notebook exported the way grade's own warning says ("export it as backprop.py") got 0/15:
    `NameError: name 'get_ipython' is not defined`; a bare `%matplotlib inline` line got `syntax`."""
    from tutor.cli import app

    path = tmp_path / "backprop.py"
    path.write_text(EXPORTED)
    result = runner.invoke(app, ["check", str(path), "--seed", "1", "--json", "--no-record"])
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["status"] == "done", result.output
    assert data["ipython_lines"] and data["file_sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    said = " ".join(runner.invoke(app, ["check", str(path), "--seed", "1", "--no-record"]).stdout.split())
    assert "IPython only" in said and "graded as `pass`" in said
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "kate.py").write_text(EXPORTED)
    out = tmp_path / "gradebook.jsonl"
    result = runner.invoke(app, ["grade", str(tmp_path / "class"), "-e", "backprop", "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    row = json.loads(out.read_text().splitlines()[0])
    assert row["student"] == "kate" and row["status"] == "done", row
    assert row["note"].startswith("IPython-only lines 8, ") and row["note"].endswith("run without IPython"), row


def test_the_ipython_forms_later_lines_need_keep_their_effect():
    """`files = !ls` exports as `files = get_ipython().getoutput('ls')` and `%time y = 3` as
    `get_ipython().run_line_magic('time', 'y = 3')`: made `pass`, the next line's `files` or `y` was a NameError."""
    from tutor.grading.ipython import without_ipython

    source = (
        "files = get_ipython().getoutput('ls')\n"
        "get_ipython().run_line_magic('time', 'y = 3')\n"
        "%time z = 4\n"
        "a = b = get_ipython().run_line_magic('timeit', '-o 1 + 1')\n"
        "if True:\n"
        "    w = get_ipython().getoutput('echo hi')\n"
        "get_ipython().run_line_magic('time', 'import os; os.system(\"x\") if False else None')\n"
        "result = (files, y, z, a, b, w)\n"
    )
    graded, lines = without_ipython(source)
    assert lines == (1, 2, 3, 4, 6, 7)
    assert len(graded.split("\n")) == len(source.split("\n"))
    namespace: dict = {}
    exec(compile(graded, "exported.py", "exec"), namespace)
    assert namespace["result"] == ([], 3, 4, None, None, [])


@pytest.mark.parametrize("line, graded", [
    ("get_ipython().run_line_magic('matplotlib', 'inline'); relu_forward = lambda x: (x * 0, x)", None),
    ("get_ipython().foo = 1 if 0 else __import__('os')", None),
    ("get_ipython().run_line_magic('time', name)", None),  # not a constant: not an export's
    ("get_ipython().run_cell_magic('time', '', 'def f(x):\\n    return x\\n')", "exec('def f(x):\\n    return x\\n')"),
    ("get_ipython().run_cell_magic('writefile', 'a.py', 'x = 1\\n')", "pass"),  # writes a file: nothing runs
    ("%matplotlib inline; relu_forward = None", "pass"),  # IPython gives the whole line to the magic
])
def test_only_the_forms_an_export_writes_are_changed(line, graded):
    """`get_ipython().run_line_magic(...); relu_forward = <a wrong one>` hid the wrong function from the grader
    (15/15), and a %%time cell lost its functions (they were inside the magic's string)."""
    from tutor.grading.ipython import without_ipython

    out, lines = without_ipython(line + "\n")
    if graded is None:
        assert (out, lines) == (line + "\n", ())
    else:
        assert lines == (1,) and out.split("  # ")[0] == graded


def test_a_bom_a_lone_cr_or_an_untokenizable_file_still_has_its_magic_lines_made_pass(tmp_path, runner):
    """A BOM before `%matplotlib inline`, lone CR line ends, or a file that does not tokenize (a bad dedent at
    its end) stopped at line 1's magic ("invalid syntax"), hiding the real error or the file's work."""
    from tutor.cli import app
    from tutor.grading.ipython import without_ipython

    assert without_ipython("%matplotlib inline\rx = 1\r")[1] == (1,)
    broken = "%matplotlib inline\nif True:\n        x = 1\n    y = 2\n"
    out, lines = without_ipython(broken)
    assert lines == (1,) and out.startswith("pass  # %matplotlib inline")
    path = tmp_path / "backprop.py"
    path.write_bytes(b"\xef\xbb\xbf%matplotlib inline\r\n" + SOLUTION.replace("\n", "\r\n").encode())
    data = json.loads(runner.invoke(app, ["check", str(path), "--seed", "1", "--json", "--no-record"]).stdout)
    assert data["status"] == "done" and data["ipython_lines"] == [1], data["fatal"]
    path.write_text(broken)
    data = json.loads(runner.invoke(app, ["check", str(path), "--seed", "1", "--json", "--no-record"]).stdout)
    assert data["fatal"]["kind"] == "syntax" and "line 4" in data["fatal"]["message"], data["fatal"]

