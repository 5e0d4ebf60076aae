"""The child side of grading: imports the learner's file and runs its functions.

This file runs as a script in a separate ``python -I`` process and imports only
the standard library and numpy (torch only for jobs that ask for it), never the
``tutor`` package. It knows nothing about right answers: it calls the
learner's functions on the inputs the parent drew, computes centred-difference
gradients of the learner's own forward functions, and sends the raw results
back. The parent computes the references and the verdict, so nothing the
learner's module does here can change a verdict.

Channels: the jobs arrive as a pickle file named on the command line; results
leave as length-prefixed pickles on the file descriptor named on the command
line; the learner's prints go to stdout/stderr, which the parent points at a
capture file, capped both here (``print`` raises :class:`OutputLimit`) and by
``RLIMIT_FSIZE`` for writes that bypass ``sys.stdout``.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import os
import pickle
import signal
import struct
import sys
import traceback

LEARNER_MODULE = "learner_exercise"
MAX_ITEMS = 64  # longest list/tuple/dict sent back
MAX_ARRAY = 5_000_000  # elements; the exercises' arrays are tiny


class OutputLimit(BaseException):
    """Raised from print() once the learner has printed more than the cap."""


class StepFailed(Exception):
    def __init__(self, info: dict):
        super().__init__(info.get("message", ""))
        self.info = info


class CappedWriter(io.TextIOBase):
    def __init__(self, stream, cap: int):
        self._stream = stream
        self._cap = cap
        self.written = 0
        self.exceeded = False
        self.muted = False  # during finite differences: the same prints, hundreds of times

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        if self.muted:
            return len(text)
        room = self._cap - self.written
        if len(text) > room:
            if room > 0:
                self._stream.write(text[:room])
                self.written += room
            self.exceeded = True
            try:
                self._stream.flush()
            except OSError:
                pass
            raise OutputLimit()
        self._stream.write(text)
        self.written += len(text)
        return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            pass


class Channel:
    def __init__(self, fd: int):
        self._fd = fd

    def send(self, *message) -> None:
        data = pickle.dumps(message, protocol=4)
        payload = struct.pack(">I", len(data)) + data
        view = memoryview(payload)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]


# ---------------------------------------------------------------- errors


def _learner_frames(tb, learner_path: str) -> list[dict]:
    frames = []
    for frame in traceback.extract_tb(tb):
        if os.path.realpath(frame.filename) == learner_path:
            frames.append({"file": frame.filename, "line": frame.lineno, "function": frame.name, "code": (frame.line or "").strip()})
    return frames


def _describe(exc: BaseException, learner_path: str) -> dict:
    if isinstance(exc, SyntaxError) and os.path.realpath(exc.filename or "") == learner_path:
        return {
            "kind": "syntax",
            "type": type(exc).__name__,
            "message": exc.msg,
            "file": exc.filename,
            "line": exc.lineno,
            "offset": exc.offset,
            "code": (exc.text or "").rstrip("\n"),
            "frames": [],
        }
    if isinstance(exc, NotImplementedError):
        kind = "not-implemented"
    elif isinstance(exc, SystemExit):
        kind = "exit"
    elif isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, RecursionError):
        kind = "recursion"
    else:
        kind = "exception"
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a learner exception whose __str__ fails
        message = "<unprintable>"
    if isinstance(exc, SystemExit):
        message = repr(exc.code)
    return {
        "kind": kind,
        "type": type(exc).__name__,
        "message": message[:500],
        "frames": _learner_frames(exc.__traceback__, learner_path),
    }


# ---------------------------------------------------------------- values


def sanitize(value, depth: int = 0):
    """Plain data for the result channel: arrays, numbers, strings, containers."""
    import numpy as np

    if value is None or isinstance(value, (bool, int, float, complex)):
        return value
    if isinstance(value, str):
        return value[:200]
    if depth > 4:
        return {"$object": type(value).__name__, "repr": "<nested too deep>"}
    if isinstance(value, np.ndarray):
        if value.size > MAX_ARRAY:
            return {"$object": "numpy.ndarray", "repr": f"an array of shape {value.shape}: far larger than expected"}
        if value.dtype.kind in "biufc":
            return np.array(value, copy=True, subok=False)
        return {"$object": f"ndarray[{value.dtype}]", "repr": _short_repr(value)}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return np.asarray(value)
    if isinstance(value, tuple):
        return tuple(sanitize(v, depth + 1) for v in value[:MAX_ITEMS])
    if isinstance(value, list):
        return [sanitize(v, depth + 1) for v in value[:MAX_ITEMS]]
    if isinstance(value, dict):
        return {str(k)[:60]: sanitize(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    return {"$object": f"{type(value).__module__}.{type(value).__qualname__}", "repr": _short_repr(value)}


def _short_repr(value) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        text = "<unprintable>"
    return text[:200]


class Runner:
    def __init__(self, module, learner_path: str, channel: Channel):
        self.module = module
        self.learner_path = learner_path
        self.channel = channel

    def function(self, name: str):
        fn = getattr(self.module, name, None)
        if fn is None or not callable(fn):
            raise StepFailed({"kind": "missing", "type": "AttributeError", "message": f"the file defines no function {name}()", "frames": []})
        return fn

    def resolve(self, expr, env: dict, variables: dict):
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
        return copy.deepcopy(expr)

    def call(self, fn_name: str, args, kwargs):
        fn = self.function(fn_name)
        try:
            return fn(*args, **kwargs)
        except (OutputLimit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # noqa: BLE001 - learner code may raise anything, SystemExit included
            info = _describe(exc, self.learner_path)
            info["function"] = fn_name
            raise StepFailed(info) from None

    # -- steps ------------------------------------------------------------

    def step_call(self, step, env, variables):
        args = [self.resolve(a, env, variables) for a in step.get("args", [])]
        kwargs = {k: self.resolve(v, env, variables) for k, v in step.get("kwargs", {}).items()}
        value = self.call(step["fn"], args, kwargs)
        env[step["save"]] = value
        return sanitize(value)

    def step_get(self, step, env, variables):
        return sanitize(variables[step["var"]])

    def step_fold(self, step, env, variables):
        """w = fn(w, g_t, state, **kwargs) for each g_t; returns every w_t."""
        state: dict = {}
        w = copy.deepcopy(step["w0"])
        trace = []
        for g in step["grads"]:
            w = self.call(step["fn"], [w, copy.deepcopy(g), state], copy.deepcopy(step.get("kwargs", {})))
            trace.append(sanitize(w))
            if not hasattr(w, "shape"):
                break
            w = copy.deepcopy(w)
        return trace

    def step_numgrad(self, step, env, variables):
        import numpy as np

        fn_name = step["fn"]
        args = [self.resolve(a, env, variables) for a in step["args"]]
        kwargs = copy.deepcopy(step.get("kwargs", {}))
        loss_spec = step["loss"]

        def loss(current):
            result = self.call(fn_name, copy.deepcopy(current), copy.deepcopy(kwargs))
            total = 0.0
            for index, weight in loss_spec:
                if index is not None and not isinstance(result, (tuple, list)):
                    raise StepFailed({"kind": "arity", "message": f"{fn_name} should return a tuple (its outputs, then the cache); it returned {type(result).__name__}", "frames": []})
                part = result if index is None else result[index]
                part = np.asarray(part, dtype=np.float64)
                if weight is not None and np.shape(part) != np.shape(weight):
                    raise StepFailed({"kind": "shape", "message": f"{fn_name} returned an output of shape {np.shape(part)} where {np.shape(weight)} was expected, so finite differences cannot be taken", "frames": []})
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

    def _numgrad(self, loss, args, step):
        import numpy as np

        loss(args)  # surfaces a failing forward once, before the loop
        grads = []
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
    def _centred(loss, args, flat, index) -> float:
        """Centred difference at one coordinate; NaN next to a kink.

        Two step sizes must agree: a kink (ReLU at 0, a max-pool switching its
        winner) within reach of the larger step makes them disagree, and we
        try a smaller pair before giving the point up.
        """
        original = flat[index]

        def central(h):
            flat[index] = original + h
            plus = loss(args)
            flat[index] = original - h
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

    def step_transfer(self, step, env, variables):
        import importlib.util as iu

        import numpy as np
        import torch

        spec = iu.spec_from_file_location("tutor_tiny_models", step["models_path"])
        models = iu.module_from_spec(spec)
        spec.loader.exec_module(models)
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
        except (OutputLimit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # noqa: BLE001
            raise StepFailed(_describe(exc, self.learner_path)) from None
        facts["logits_shape"] = tuple(logits.shape)
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
            optimizer = torch.optim.SGD(params, lr=0.5)
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            facts["after_step"] = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
        facts["dtype_ok"] = all(isinstance(v, np.ndarray) for v in facts["after_build"].values())
        return facts

    def run_job(self, job: dict) -> dict:
        env: dict = {}
        variables = copy.deepcopy(job.get("vars", {}))
        results = {}
        for step in job["steps"]:
            key = step["save"]
            handler = getattr(self, "step_" + step["op"])
            try:
                results[key] = {"ok": True, "value": handler(step, env, variables)}
            except StepFailed as failure:
                results[key] = {"ok": False, "error": failure.info}
            except (OutputLimit, KeyboardInterrupt):
                raise
            except BaseException as exc:  # noqa: BLE001 - e.g. a learner result that cannot be used as a number
                info = _describe(exc, self.learner_path)
                info["function"] = step.get("fn", step["op"])
                results[key] = {"ok": False, "error": info}
        return results


def _limit(resource_name: str, value) -> None:
    import resource

    if not value:
        return
    which = getattr(resource, resource_name)
    soft, hard = resource.getrlimit(which)
    value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
    try:
        resource.setrlimit(which, (value, hard))
    except (ValueError, OSError):
        pass


def main(argv: list[str]) -> int:
    jobs_path, result_fd = argv[1], int(argv[2])
    channel = Channel(result_fd)
    with open(jobs_path, "rb") as handle:
        plan = pickle.load(handle)
    limits = plan.get("limits", {})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-long writes fail instead of killing us
    if plan.get("needs_torch"):
        import torch  # noqa: F401  (before the limits: its libraries are large)

        torch.set_num_threads(1)
    import numpy as np

    np.seterr(all="ignore")
    _limit("RLIMIT_FSIZE", limits.get("fsize"))
    _limit("RLIMIT_AS", limits.get("address_space"))
    _limit("RLIMIT_DATA", limits.get("data"))
    _limit("RLIMIT_CPU", limits.get("cpu_seconds"))
    cap = int(limits.get("output_chars", 100_000))
    sys.stdout = CappedWriter(sys.__stdout__, cap)
    sys.stderr = sys.stdout
    learner_path = os.path.realpath(plan["learner"])
    sys.path.append(os.path.dirname(learner_path))  # helpers next to the file; last, so they shadow nothing
    channel.send("ready")
    try:
        spec = importlib.util.spec_from_file_location(LEARNER_MODULE, learner_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[LEARNER_MODULE] = module
        spec.loader.exec_module(module)
    except OutputLimit:
        channel.send("fatal", {"kind": "output"})
        return 0
    except BaseException as exc:  # noqa: BLE001 - anything at import is the learner's
        channel.send("import-error", _describe(exc, learner_path))
        return 0
    channel.send("imported")
    runner = Runner(module, learner_path, channel)
    for job in plan["jobs"]:
        channel.send("begin", job["name"])
        try:
            results = runner.run_job(job)
        except OutputLimit:
            channel.send("fatal", {"kind": "output", "job": job["name"]})
            return 0
        channel.send("job", job["name"], results)
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
