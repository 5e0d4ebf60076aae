"""The child side of grading: runs the learner's code and its functions.

This file runs as a script in a separate ``python -I -B`` process and imports
only the standard library and numpy (torch only for jobs that ask for it),
never the ``tutor`` package; its siblings, loaded by path, do the rest:
:mod:`sandbox` contains the process before the learner's code may run, and
:mod:`wire` turns what comes back into plain data and facts. It knows nothing about
right answers: it calls the learner's functions on the inputs the parent drew,
computes centred-difference gradients of the learner's own forward functions,
and sends the raw results back. The parent computes the references and the
verdict. The learner's code shares this process, so it could rewrite what is
sent: values are judged against the parent's own references, the transfer
exercise's facts against the parent's own model and SGD step, and what is left
to claim (finite differences of a forward that fails anyway, the freeze flags
of a model whose step is real) is worth less than doing the exercise.

The learner's module is compiled from the exact bytes the parent read and
hashed (sent in the plan), never through the import system, so no bytecode
cache is read or written.

Channels: the plan arrives as a pickle file named on the command line; results
leave as length-prefixed pickles on the file descriptor named on the command
line, the first being "ready" (sent before any learner code runs); the
learner's code starts when the parent writes to the "go" descriptor. The
learner's prints go to stdout/stderr, which the parent points at a capture
file, capped both here (``print`` raises :class:`OutputLimit`) and by
``RLIMIT_FSIZE`` for writes that bypass ``sys.stdout``.
"""

from __future__ import annotations

import copy
import gc
import os
import pickle
import signal
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

Step = dict[str, Any]
Env = dict[str, Any]

LEARNER_MODULE = "learner_exercise"


def _load_sibling(name: str) -> ModuleType:
    """A module next to this file, loaded by path (this process never imports the tutor package)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    module = ModuleType(f"_dnn_tutor_{name}")
    with open(path, "rb") as handle:
        exec(compile(handle.read(), path, "exec", dont_inherit=True), module.__dict__)  # noqa: S102
    return module


if TYPE_CHECKING:
    from tutor.grading.wire import _numpy as _np
    from tutor.grading.wire import (PLAIN_LAYERS, CappedWriter, Channel, OutputLimit, StepFailed, describe_exception, freeze_numpy,
                                    recursion_summary, sanitize)
else:  # this process never imports the tutor package: the sibling is loaded by path
    _wire = _load_sibling("wire")
    CappedWriter, Channel, OutputLimit, StepFailed = _wire.CappedWriter, _wire.Channel, _wire.OutputLimit, _wire.StepFailed
    describe_exception, sanitize, PLAIN_LAYERS = _wire.describe_exception, _wire.sanitize, _wire.PLAIN_LAYERS
    recursion_summary, freeze_numpy = _wire.recursion_summary, _wire.freeze_numpy
    _np = _wire._numpy  # numpy's pieces the grader uses: kept by main() before the learner's code runs (taken at
    # first use where the Runner is used without main(), in a test)

# Taken before the learner's code runs, which may replace them (a deepcopy that returns its argument would hand
# the learner the grader's own inputs to change); numpy's pieces are kept by main() (freeze_numpy), after its import.
_deepcopy = copy.deepcopy


MAX_RECURSION = 3000  # the deepest recursion limit the learner's code may set (sys.setrecursionlimit asks are capped)
WHERE_FRAMES = 20_000  # frames the deadline's "where" walks up the stack at most


class ErrorStateGuard:
    """Keeps numpy raising on overflow and division by zero during a stability case, whatever the learner's
    code asks of numpy's error state (``with np.errstate(all="ignore")``, ``np.seterr``): switching the warning
    off hides an overflow, it does not prevent it, and the verdict must not depend on it.

    numpy 2 builds every error state (errstate, seterr, seterrcall) with ``_ufunc_config._make_extobj``; the
    guard wraps that one function. With numpy 1 nothing is wrapped (the learner's error state wins there).
    """

    KEYS = ("divide", "over", "under", "invalid")

    def __init__(self) -> None:
        self.forced: dict[str, str] = {}
        self.silenced = False  # the learner's code asked to lower a forced setting while it was forced

    def install(self) -> bool:
        try:
            from numpy._core import _ufunc_config as config
        except Exception:  # noqa: BLE001 - numpy 1 (no numpy._core, or one without it): nothing to wrap
            return False
        real = getattr(config, "_make_extobj", None)
        if real is None or getattr(real, "_dnn_tutor_guard", False):
            return False
        guard = self

        def make_extobj(*args: Any, **kwargs: Any) -> Any:
            forced = guard.forced
            if forced and not args:
                every = kwargs.get("all")
                for key in guard.KEYS:  # "all" spelled out, so that forcing two settings keeps the others it sets
                    if kwargs.get(key) is None and every is not None:
                        kwargs[key] = every
                kwargs["all"] = None
                for key, value in forced.items():
                    if kwargs.get(key) is not None and kwargs[key] != value:
                        guard.silenced = True
                    kwargs[key] = value
            return real(*args, **kwargs)

        make_extobj._dnn_tutor_guard = True  # type: ignore[attr-defined]
        config._make_extobj = make_extobj  # type: ignore[attr-defined]
        return True


GUARD = ErrorStateGuard()


def _cap_recursion_limit(cap: int) -> None:
    """``sys.setrecursionlimit`` asks above ``cap`` set ``cap``: a recursion that never ends then stops at once with
    RecursionError (which the report explains) instead of running out the time or the C stack (a crash)."""
    real = sys.setrecursionlimit

    def setrecursionlimit(limit: int, /) -> None:
        if type(limit) is int and limit > cap:
            limit = cap
        real(limit)

    setrecursionlimit.__doc__ = real.__doc__
    sys.setrecursionlimit = setrecursionlimit


class Runner:
    def __init__(self, module: ModuleType, learner_path: str, channel: Channel, signatures: dict[str, list[str]] | None = None):
        self.module = module
        self.learner_path = learner_path
        self.channel = channel
        self.signatures = signatures or {}  # the starter's parameter names of each function, in order
        self._calling: str | None = None  # the learner function last announced to the parent

    def placed(self, fn_name: str, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """The call's arguments, keyword arguments by position where the learner renamed the starter's
        parameters (``learning_rate`` for ``lr``, ``s`` for ``stride``): the checks name the starter's
        parameters, and a renamed one is still the same argument in the same place."""
        import inspect

        if not kwargs:
            return args, kwargs
        try:
            signature = inspect.signature(fn)
            signature.bind(*args, **kwargs)
            return args, kwargs  # the learner's names take the call as it is
        except (TypeError, ValueError):
            pass
        except BaseException:  # noqa: BLE001 - an odd __signature__: the call as it is, and its own error
            return args, kwargs
        # A keyword the learner's function names is passed by that name; one it does not name goes to the
        # learner's parameter in the starter's place for it (``learning_rate`` where the starter has ``lr``).
        # A place already filled (the learner moved a parameter and renamed another) stays unguessed.
        try:
            params = list(signature.parameters.values())
        except BaseException:  # noqa: BLE001 - no signature at all (bind raised ValueError)
            return args, kwargs
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        named = {p.name for p in params if p.kind in kinds}
        places = [p.name for p in params if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
        starter = self.signatures.get(fn_name, [])
        placed, taken = {}, set(places[:len(args)])
        for key, value in kwargs.items():
            if key in named:
                placed[key] = value
            elif key in starter and starter.index(key) < len(places):
                placed[places[starter.index(key)]] = value
            else:
                return args, kwargs
        if len(placed) != len(kwargs) or taken & set(placed):
            return args, kwargs  # two keywords for one place, or a place a positional argument filled
        return args, placed

    def function(self, name: str) -> Callable[..., Any]:
        fn = getattr(self.module, name, None)
        if fn is None or not callable(fn):
            raise StepFailed({"kind": "missing", "type": "AttributeError", "message": f"the file defines no function {name}()", "frames": []})
        return fn

    def resolve(self, expr: Any, env: dict[str, Any], variables: dict[str, Any]) -> Any:
        """Literal values are deep-copied per call; {"$ref"} and {"$var"} are passed as they are."""
        if isinstance(expr, dict) and "$ref" in expr:
            key = expr["$ref"]
            if key not in env:
                raise StepFailed({"kind": "skipped", "ref": key, "message": f"needs the result of step {key!r}, which failed", "frames": []})
            value = env[key]
            if "$item" in expr:
                index = expr["$item"]
                if not isinstance(value, (tuple, list)) or len(value) <= index:
                    raise StepFailed({"kind": "arity", "ref": key, "message": f"needs item {index} of what step {key!r} returned, which is not a tuple that long", "frames": []})
                value = value[index]
            return value
        if isinstance(expr, dict) and "$var" in expr:
            return variables[expr["$var"]]
        return _deepcopy(expr)

    def call(self, fn_name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        fn = self.function(fn_name)
        if fn_name != self._calling and self.channel is not None:  # said once per change: a timeout names it
            self._calling = fn_name
            self.channel.send("calling", fn_name)
        try:
            args, kwargs = self.placed(fn_name, fn, args, kwargs)
            return fn(*args, **kwargs)
        except OutputLimit:
            raise
        except BaseException as exc:  # noqa: BLE001 - learner code may raise anything, SystemExit included
            info = describe_exception(exc, self.learner_path)
            info["function"] = fn_name
            raise StepFailed(info) from None

    # -- steps ------------------------------------------------------------

    def step_call(self, step: Step, env: Env, variables: Env) -> Any:
        args = [self.resolve(a, env, variables) for a in step.get("args", [])]
        kwargs = {k: self.resolve(v, env, variables) for k, v in step.get("kwargs", {}).items()}
        if step.get("errstate"):  # stability cases: numpy raises on overflow instead of returning inf
            GUARD.silenced = False
            try:
                # the grader's own error state for this case (numpy's errstate as it was before the learner's code ran):
                # overflow and division raise, underflow and invalid values (a harmless exp(-800) = 0) do not
                with _np().errstate(**{"under": "ignore", "invalid": "ignore", **step["errstate"]}):
                    GUARD.forced = {k: v for k, v in step["errstate"].items() if k in GUARD.KEYS and v == "raise"}
                    try:
                        value = self.call(step["fn"], args, kwargs)
                    finally:
                        GUARD.forced = {}
            except StepFailed as failure:
                if failure.info.get("type") != "FloatingPointError" or not str(failure.info.get("message", "")).startswith(("overflow", "divide")):
                    raise  # an underflow raises only where the learner's code asked numpy to: its own exception
                if GUARD.silenced:  # the learner's code had switched numpy's warning off: the report says so
                    failure.info["silenced"] = True
                # The same call as numpy runs it by default (warning, not raising). A formula that overflows
                # on the way can still return finite values (1 / (1 + exp(800)) is 0): then the report
                # says so, and the later steps (the backward) run on what it returned.
                try:
                    with _np().errstate(all="ignore"):
                        value = self.call(step["fn"], args, kwargs)
                except StepFailed:
                    raise failure from None
                if not _all_finite(value):
                    raise failure from None
                env[step["save"]] = value
                raise StepFailed({**failure.info, "kind": "overflow-warned"}) from None
        else:
            value = self.call(step["fn"], args, kwargs)
        env[step["save"]] = value
        return sanitize(value)

    def step_get(self, step: Step, env: Env, variables: Env) -> Any:
        return sanitize(variables[step["var"]])

    def step_fold(self, step: Step, env: Env, variables: Env) -> list[Any]:
        """w = fn(w, g_t, state, **kwargs) for each g_t; returns every w_t."""
        state: dict = {}
        w = _deepcopy(step["w0"])
        trace = []
        for g in step["grads"]:
            w = self.call(step["fn"], [w, _deepcopy(g), state], _deepcopy(step.get("kwargs", {})))
            trace.append(sanitize(w))
            if not hasattr(w, "shape"):
                break
            w = _deepcopy(w)
        return trace

    def step_numgrad(self, step: Step, env: Env, variables: Env) -> dict[str, Any]:
        np = _np()  # numpy as it was before the learner's code ran (which may have replaced np.sum, np.asarray)
        fn_name = step["fn"]
        args = [self.resolve(a, env, variables) for a in step["args"]]
        kwargs = _deepcopy(step.get("kwargs", {}))
        loss_spec = step["loss"]

        def loss(current: Any) -> float:
            result = self.call(fn_name, _deepcopy(current), _deepcopy(kwargs))
            total = 0.0
            for index, weight in loss_spec:
                if index is not None and not isinstance(result, (tuple, list)):
                    raise StepFailed({"kind": "arity", "message": f"{fn_name} should return a tuple (its outputs, then the cache); it returned {type(result).__name__}", "frames": []})
                part = result if index is None else result[index]
                part = np.asarray(part, dtype=np.float64)
                if weight is not None and np.shape(part) != np.shape(weight):
                    raise StepFailed({"kind": "shape", "message": f"{fn_name} returned an output of shape {np.shape(part)} where {np.shape(weight)} was expected, so finite differences cannot be taken", "frames": []})
                with np.errstate(all="ignore"):  # the grader's sums, whatever numpy's error state the learner's code left
                    total += float(np.sum(part * weight)) if weight is not None else float(np.sum(part))
            return total

        writer = sys.stdout if isinstance(sys.stdout, CappedWriter) else None
        if writer is not None:
            writer.muted = True
        try:
            return self._numgrad(loss, args, step)
        finally:
            if writer is not None:
                writer.muted = False

    def _numgrad(self, loss: Callable[[Any], float], args: list[Any], step: Step) -> dict[str, Any]:
        np = _np()
        loss(args)  # surfaces a failing forward once, before the loop
        grads: list[Any] = []
        for path, coords in zip(step["wrt"], step["coords"]):
            target = args
            for key in path:
                target = target[key]
            if not isinstance(target, np.ndarray) or target.dtype != np.float64:
                raise StepFailed({"kind": "skipped", "message": "input is not a float64 array", "frames": []})
            flat = target.reshape(-1)  # a view: writing into it perturbs the input
            values = np.full(len(coords), np.nan)
            for j, index in enumerate(coords):
                values[j] = self._centred(loss, args, flat, int(index))
            grads.append(values)
        return {"grads": grads}

    @staticmethod
    def _centred(loss: Callable[[Any], float], args: Any, flat: Any, index: int) -> float:
        """Centred difference at one coordinate; NaN next to a kink.

        Two step sizes must agree: a kink (ReLU at 0, a max-pool switching its
        winner) within reach of the larger step makes them disagree, and we
        try a smaller pair before giving the point up.
        """
        original = flat[index]

        def central(h: float) -> float:
            with _np().errstate(all="ignore"):
                up, down = original + h, original - h
            flat[index] = up
            plus = loss(args)
            flat[index] = down
            minus = loss(args)
            flat[index] = original
            return (plus - minus) / (2 * h)

        a = central(1e-5)
        for h in (1e-6, 1e-7):
            b = central(h)
            if abs(a - b) <= 1e-5 * max(1.0, abs(a)):
                return a
            a = b
        return float("nan")

    def step_transfer(self, step: Step, env: Env, variables: Env) -> dict[str, Any]:
        import types

        import numpy as np
        import torch

        models = types.ModuleType("tutor_tiny_models")
        with open(step["models_path"], "rb") as handle:
            exec(compile(handle.read(), step["models_path"], "exec", dont_inherit=True), models.__dict__)  # noqa: S102
        torch.manual_seed(step["seed"])
        backbone = getattr(models, step["model"])()
        before = {name: p.detach().numpy().copy() for name, p in backbone.named_parameters()}
        built = self.call("build_feature_extractor", [backbone, step["num_classes"]], {})
        is_module = isinstance(built, torch.nn.Module)
        facts: dict = {"is_module": is_module, "returned": None if is_module else sanitize(built)}
        if not is_module:
            return facts
        model = built
        facts["same_object"] = model is backbone
        facts["before"] = before
        facts["after_build"] = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
        facts["requires_grad"] = {n: bool(p.requires_grad) for n, p in model.named_parameters()}
        head = getattr(model, step["head"], None)
        if isinstance(head, torch.nn.Sequential) and len(head):
            head = head[-1]
        facts["head_layers"] = _describe_head(getattr(model, step["head"], None))
        facts["head"] = {
            "type": type(head).__name__ if head is not None else None,
            "in_features": getattr(head, "in_features", None),
            "out_features": getattr(head, "out_features", None),
        }
        x = torch.from_numpy(step["x"])
        y = torch.from_numpy(step["y"])
        model.train()
        try:
            logits = model(x)
        except OutputLimit:
            raise
        except BaseException as exc:  # noqa: BLE001
            raise StepFailed(describe_exception(exc, self.learner_path)) from None
        facts["logits_shape"] = tuple(logits.shape)
        flagged = [p for p in model.parameters() if p.requires_grad]
        if flagged:
            # The same step on the parameters whose requires_grad is True (what "frozen" means), then
            # every parameter back as built: the parent redoes this step to check the flags.
            try:
                self._sgd_step(model, flagged, x, y, step.get("step_seed", 0))
                facts["after_flag_step"] = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
                with torch.no_grad():
                    for n, p in model.named_parameters():
                        p.copy_(torch.from_numpy(facts["after_build"][n]))
            except OutputLimit:
                raise
            except BaseException:  # noqa: BLE001 - a model this step cannot train: the flags check says why
                facts.pop("after_flag_step", None)
        try:
            params = self.call("trainable_parameters", [model], {})
        except StepFailed as failure:
            facts["trainable_error"] = failure.info
            return facts
        try:
            params = list(params)
        except TypeError:
            facts["trainable"] = sanitize(params)
            return facts
        names = {id(p): n for n, p in model.named_parameters()}
        facts["trainable"] = [names.get(id(p), f"<not a parameter of the model: {type(p).__name__}>") for p in params]
        if params and all(isinstance(p, torch.nn.Parameter) for p in params):
            self._sgd_step(model, params, x, y, step.get("step_seed", 0))
            facts["after_step"] = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
        facts["dtype_ok"] = all(isinstance(v, np.ndarray) for v in facts["after_build"].values())
        return facts

    @staticmethod
    def _sgd_step(model: Any, params: list[Any], x: Any, y: Any, seed: int) -> None:
        """One plain SGD step (lr 0.5) on exactly ``params``, written out: torch.optim's first use
        imports torch._dynamo, seconds of start-up. Seeded just before the forward, so the parent
        can redo it, dropout in the head included."""
        import torch

        for p in params:
            p.grad = None
        torch.manual_seed(seed)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        with torch.no_grad():
            for p in params:
                if p.grad is not None:
                    p.sub_(0.5 * p.grad)
        for p in params:
            p.grad = None

    def run_job(self, job: Step) -> dict[str, dict[str, Any]]:
        self._calling = None  # the parent forgets the last call at each job's start
        env: dict = {}
        variables = _deepcopy(job.get("vars", {}))
        results = {}
        for step in job["steps"]:
            key = step["save"]
            handler = getattr(self, "step_" + step["op"])
            try:
                results[key] = {"ok": True, "value": handler(step, env, variables)}
            except StepFailed as failure:
                results[key] = {"ok": False, "error": failure.info}
            except OutputLimit:
                raise
            except BaseException as exc:  # noqa: BLE001 - e.g. a learner result that cannot be used as a number
                info = describe_exception(exc, self.learner_path)
                info["function"] = step.get("fn", step["op"])
                results[key] = {"ok": False, "error": info}
        return results


READABLE_ENCODINGS = ("utf-8", "utf-8-sig", "ascii", "iso-8859-1", "latin-1", "cp1252")


def _declared_encoding(source: bytes) -> str:
    """The encoding a Python file declares (its coding line or BOM); UTF-8 where the first lines are unreadable."""
    import io
    import tokenize

    try:
        return tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    except SyntaxError:  # a first line that is not UTF-8 either: the decode says so
        return "utf-8"


def _readable_encoding(encoding: str, path: str) -> None:
    """Refuse a coding cookie whose text a person reading the file does not see as Python would run it:
    ``# -*- coding: utf-7 -*-`` turns a comment of +AAoA... into whole lines of code (a full solution hid
    in one comment of a helper). The encodings editors save code in pass."""
    import codecs

    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return  # the decode below says so
    if name not in {codecs.lookup(e).name for e in READABLE_ENCODINGS}:
        error = SyntaxError(f"the file declares the encoding {encoding!r}, which hides code from a reader: "
                            "save it as UTF-8 and remove the coding line")
        error.filename, error.lineno = path, 1
        raise error


def _check_encoding(source: bytes, learner_path: str) -> None:
    """Refuse what ``python file.py`` refuses: bytes that are not in the file's declared encoding (UTF-8
    unless it says otherwise). compile() of bytes lets some through (a stray Latin-1 byte in a comment)."""
    encoding = _declared_encoding(source)
    _readable_encoding(encoding, learner_path)
    try:
        source.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        start = getattr(exc, "start", 0)
        line = source[:start].count(b"\n") + 1
        bad = source[start:start + 1]
        error = SyntaxError(f"Non-UTF-8 code starting with {bad!r:.7} on line {line}, but no encoding declared "
                            f"(save the file as UTF-8)" if bad else f"the file is not valid text: {exc}")
        error.filename, error.lineno = learner_path, line
        raise error from None


def _compile_learner(source: bytes, learner_path: str) -> ModuleType:
    """The learner's module, compiled from the exact bytes the parent hashed (no bytecode cache)."""
    import linecache
    import types

    text = source.decode("utf-8", errors="surrogateescape")
    lines = text.splitlines(keepends=True)
    linecache.cache[learner_path] = (len(text), None, lines, learner_path)  # tracebacks quote these bytes
    _check_encoding(source, learner_path)
    code = compile(source, learner_path, "exec", dont_inherit=True)
    module = types.ModuleType(LEARNER_MODULE)
    module.__file__ = learner_path
    sys.modules[LEARNER_MODULE] = module
    exec(code, module.__dict__)  # noqa: S102 - running the learner's code is the point
    return module


def _source_only_below(roots: list[str]) -> None:
    """Imports from the learner's folder (and a student's own folders) come from ``.py`` sources alone.

    Python would otherwise run ``__pycache__/helpers.cpython-*.pyc`` in place of ``helpers.py`` when
    the cache's recorded size and time match the source's, and a sourceless ``helpers.pyc``, a ``.so``
    or a ``.zip`` put on ``sys.path``: code that nobody reading the submission can see (a forged cache
    beside a starter-looking helper scored 15/15). Paths elsewhere (this Python, its packages) keep
    the usual finders and their caches.
    """
    import importlib.machinery as machinery

    class SourceOnly(machinery.SourceFileLoader):
        def get_code(self, fullname: str | None) -> Any:  # never a cached .pyc
            data = self.get_data(self.path)
            _readable_encoding(_declared_encoding(data), self.path)
            return self.source_to_code(data, self.path)

        def set_data(self, *args: Any, **kwargs: Any) -> None:  # and never writes one
            return None

    class Nothing:
        """The finder for a file (a zip, say) inside those folders: it finds nothing."""

        def find_spec(self, fullname: str, target: Any = None) -> None:
            return None

        def invalidate_caches(self) -> None:
            return None

    sources = machinery.FileFinder.path_hook((SourceOnly, machinery.SOURCE_SUFFIXES))
    reals = [os.path.realpath(r) for r in roots]

    def hook(path: str) -> Any:
        real = os.path.realpath(path or os.getcwd())
        if not any(real == r or real.startswith(r.rstrip("/") + "/") for r in reals):
            raise ImportError("not a learner's folder")  # the next hook decides
        if "__pycache__" in real.split(os.sep):  # Python's cache folder: nobody reads the code kept there
            return Nothing()
        return sources(path) if os.path.isdir(real) else Nothing()

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def _wait_for_go(go_fd: int) -> bool:
    """Block until the parent says the learner's code may run (False: the parent is gone).

    The parent keeps its end open for the rest of the run; a watchdog thread
    then waits on it and ends this process group the moment the parent is gone
    (even if the learner's code cleared the parent-death signal).
    """
    try:
        data = os.read(go_fd, 1)
    except OSError:
        return False
    if data != b"g":
        return False

    def watchdog() -> None:
        try:
            while os.read(go_fd, 1):
                pass
        except OSError:
            pass
        try:
            os.killpg(0, signal.SIGKILL)
        finally:
            os._exit(1)

    import threading

    threading.Thread(target=watchdog, name="dnn-tutor-parent-watch", daemon=True).start()
    return True





def _describe_head(module: Any) -> dict | None:
    """The head's layers as plain data (the parent rebuilds them to check the step), or None."""
    import torch.nn as nn

    if module is None:
        return None
    layers = list(module) if isinstance(module, nn.Sequential) else [module]
    described = []
    for layer in layers[:32]:
        kind = type(layer).__name__
        if type(layer) is nn.Linear:
            described.append({"type": "Linear", "in": int(layer.in_features), "out": int(layer.out_features), "bias": layer.bias is not None})
        elif type(layer) is nn.Dropout:
            described.append({"type": "Dropout", "p": float(layer.p)})
        elif kind in PLAIN_LAYERS and type(layer).__module__.startswith("torch.nn"):
            described.append({"type": kind})
        else:
            described.append({"type": kind[:60], "unknown": True})
    return {"sequential": isinstance(module, nn.Sequential), "layers": described}

def _all_finite(value: Any, depth: int = 0) -> bool:
    """Every float in a result (arrays, numbers, tuples, lists, dicts of them) is finite."""
    np = _np()

    if depth > 20:
        return False
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fc":
            return True
        with np.errstate(all="ignore"):
            return bool(np.isfinite(value).all())
    if isinstance(value, (float, complex, np.floating, np.complexfloating)):
        return bool(np.isfinite(value))
    if isinstance(value, (tuple, list)):
        return all(_all_finite(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(_all_finite(v, depth + 1) for v in value.values())
    return True

def _say_where_on_request(channel: Channel, learner_path: str) -> None:
    """On SIGUSR1 (the parent's deadline has come), say which line of the learner's file is running.

    Only the function's name and the line number are sent; the parent quotes the line from the source it
    read itself. Skipped while a frame is being written (the handler runs between two bytecodes of the
    main thread, possibly inside :meth:`Channel.send`). The learner's code may replace the handler; the
    parent then names the function it called, as before.
    """

    def where(signum: int, frame: Any) -> None:
        try:
            stack: list[tuple[str, int, str]] = []  # the learner's frames, innermost first
            steps = 0
            while frame is not None and steps < WHERE_FRAMES:
                if frame.f_code.co_filename == learner_path:
                    stack.append((str(frame.f_code.co_name)[:100], int(frame.f_lineno or 0), ""))
                frame = frame.f_back
                steps += 1
            if not stack or channel.busy:
                return
            said: dict[str, Any] = {"function": stack[0][0], "line": stack[0][1]}
            recursion = recursion_summary(stack[::-1])  # deep in a recursion: which call, how deep
            if recursion is not None:
                said["recursion"] = {k: recursion[k] for k in ("functions", "line", "depth")}
            channel.send("where", said)
        except Exception:  # noqa: BLE001 - at the deadline, deep in the learner's stack: the parent names the function
            pass

    signal.signal(signal.SIGUSR1, where)


def _say_broken(channel: Channel, exc: BaseException) -> None:
    """The grader's own code failed in this process (the learner's code replaced something it uses: a builtin,
    np.ndarray): say so in a frame of plain text, which needs nothing but the kept pickle."""
    try:
        said = f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: BLE001
        said = "an error that cannot be printed"
    channel.send("fatal", {"kind": "broken", "message": said[:200]})


def main(argv: list[str]) -> int:
    jobs_path, result_fd, go_fd = argv[1], int(argv[2]), int(argv[3])
    sys.dont_write_bytecode = True
    with open(jobs_path, "rb") as handle:
        plan = pickle.load(handle)  # written by the parent before this process started
    sandbox = _load_sibling("sandbox")
    if not sandbox.die_with_parent(int(plan["parent"])):
        return 1
    channel = Channel(result_fd)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-long writes fail instead of killing us
    if plan.get("needs_torch"):
        gc.disable()  # torch's import makes objects that all stay: collections meanwhile free nothing (see
        try:  # tutor.import_guard.gc_paused, which this process may not import)
            import torch  # noqa: F401  (before the limits: its libraries are large)
        finally:
            gc.freeze()  # and no later collection walks them again; the learner's objects are collected as usual
            gc.enable()  # (this process ends with os._exit: nothing is freed at its exit, frozen or not)
        torch.set_num_threads(1)
    import numpy as np

    np.seterr(all="ignore")
    freeze_numpy(np)  # numpy's pieces the grader uses (_np()), kept before the learner's code may replace them
    GUARD.install()
    _cap_recursion_limit(MAX_RECURSION)
    learner_path = plan["learner"]
    applied = sandbox.contain(plan.get("limits", {}), os.getcwd())
    cap = int(plan.get("limits", {}).get("output_chars", 100_000))
    sys.stdout = CappedWriter(sys.__stdout__, cap)
    sys.stderr = sys.stdout
    folder = os.path.dirname(learner_path)
    own = plan.get("limits", {}).get("read_only")  # grading a class: the student's own folder, or only their file
    if own is None or any(os.path.isdir(r) and (folder == r or folder.startswith(r.rstrip("/") + "/")) for r in own):
        sys.path.append(folder)  # helpers next to the file; last, so they shadow nothing
    _source_only_below([folder] + [r for r in (own or []) if os.path.isdir(r)])
    channel.send("ready", applied)
    if not _wait_for_go(go_fd):
        return 0
    _say_where_on_request(channel, learner_path)  # a loop at the top of the file is found too
    try:
        module = _compile_learner(plan["source"], learner_path)
    except OutputLimit:
        channel.send("fatal", {"kind": "output"})
        return 0
    except BaseException as exc:  # noqa: BLE001 - anything at import is the learner's
        channel.send("import-error", describe_exception(exc, learner_path))
        return 0
    channel.send("imported")
    runner = Runner(module, learner_path, channel, plan.get("signatures"))
    for job in plan["jobs"]:
        channel.send("begin", job["name"])
        try:
            results = runner.run_job(job)
            channel.send("job", job["name"], results)
        except OutputLimit:
            channel.send("fatal", {"kind": "output", "job": job["name"]})
            return 0
        except Exception as exc:  # noqa: BLE001 - the grader's own code failed: the learner's replaced what it uses
            _say_broken(channel, exc)
            return 0
    channel.send("done")
    try:
        sys.stdout.flush()
    except BaseException:  # noqa: BLE001
        pass
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    # Skip interpreter clean-up: learner objects with odd __del__ methods must
    # not decide our exit status after the results are sent.
    os._exit(code)
