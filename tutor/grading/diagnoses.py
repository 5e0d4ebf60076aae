"""The one registry of diagnosis codes.

Every failing check carries one of these codes. ``compare`` and the exercise
specs raise them, ``exercises/info.toml`` keys its tailored hints and quiz
concepts by them, and ``check --json`` reports them. A code is a content id:
its meaning never changes; a new mistake gets a new code.

Each entry has a one-line meaning (what the code says happened) and a general
hint (what to do about it), used when an exercise has no tailored hint of its
own for that code. Nothing here prints or imports numpy.
"""

from __future__ import annotations

from enum import Enum


class Diagnosis(str, Enum):
    """A diagnosis code; the value is the string stored and shown."""

    # -- how the run went (child, engine) -------------------------------------
    NOT_STARTED = "not-started"
    NOT_RUN = "not-run"
    MISSING = "missing"
    EXCEPTION = "exception"
    UNREADABLE = "unreadable"
    TIMEOUT = "timeout"
    RECURSION = "recursion"
    MEMORY = "memory"
    OUTPUT = "output"
    CRASH = "crash"
    EXIT = "exit"
    IMPORT = "import"
    SYNTAX = "syntax"
    PROTOCOL = "protocol"
    PROCESSES = "processes"
    DISK = "disk"
    CONSTANT_FORWARD = "constant-forward"
    # -- what came back ------------------------------------------------------
    NONE = "none"
    ARITY = "arity"
    NOT_ARRAY = "not-array"
    SHAPE = "shape"
    DTYPE = "dtype"
    KEYS = "keys"
    FLOAT32 = "float32"
    FLOAT16 = "float16"
    MATMUL_SHAPE = "matmul-shape"
    BROADCAST = "broadcast"
    # -- values --------------------------------------------------------------
    VALUES = "values"
    NAN = "nan"
    OVERFLOW = "overflow"
    LOG_ZERO = "log-zero"
    LOG_EPSILON = "log-epsilon"
    SOFTMAX_OVERFLOW = "softmax-overflow"
    TRANSPOSED = "transposed"
    RETURN_ORDER = "return-order"
    SIGN = "sign"
    FACTOR = "factor"
    ZERO = "zero"
    BATCH_MEAN = "batch-mean"
    BACKWARD_VS_FORWARD = "backward-vs-forward"
    # -- dense, activations, losses -------------------------------------------
    BIAS_AVERAGED = "bias-averaged"
    DB_NOT_SUMMED = "db-not-summed"
    RELU_KINK = "relu-kink"
    RELU_MASK = "relu-mask"
    RELU_ON_LOGITS = "relu-on-logits"
    SIGMOID_DERIVATIVE = "sigmoid-derivative"
    TANH_DERIVATIVE = "tanh-derivative"
    # -- dropout and L2 ----------------------------------------------------------
    MASK_NOT_RESCALED = "mask-not-rescaled"
    KEEP_PROB = "keep-prob"
    DROP_RATE = "drop-rate"
    RNG_IGNORED = "rng-ignored"
    EVAL_SCALED = "eval-scaled"
    EVAL_DROPPED = "eval-dropped"
    L2_CONVENTION = "l2-convention"
    L2_GRAD_NO_LAM = "l2-grad-no-lam"
    BIAS_PENALISED = "bias-penalised"
    # -- batch norm --------------------------------------------------------------
    BIASED_VAR = "biased-var"
    MOMENTUM_SWAPPED = "momentum-swapped"
    EVAL_BATCH_STATS = "eval-batch-stats"
    RUNNING_STATS = "running-stats"
    BN_RUNNING_IN_TRAIN = "bn-running-in-train"
    BN_EVAL_UPDATES_STATE = "bn-eval-updates-state"
    BN_EPS_OUTSIDE = "bn-eps-outside"
    BN_DX_PARTIAL = "bn-dx-partial"
    BN_DX_NO_VAR = "bn-dx-no-var"
    BN_DX_NO_MEAN = "bn-dx-no-mean"
    BN_DX_UNBIASED_VAR = "bn-dx-unbiased-var"
    # -- convolution and pooling -------------------------------------------------
    KERNEL_FLIPPED = "kernel-flipped"
    CONV_DX_PADDED = "conv-dx-padded"
    CONV_DX_CROP = "conv-dx-crop"
    CONV_STRIDE_BACKWARD = "conv-stride-backward"
    CONV_DW_OVERWRITTEN = "conv-dw-overwritten"
    CONV_PAD_OFFSET = "conv-pad-offset"
    POOL_AVERAGE = "pool-average"
    POOL_OVERWRITE = "pool-overwrite"
    # -- recurrent ---------------------------------------------------------------
    BPTT_CARRY = "bptt-carry"
    GRAD_OVERWRITTEN = "grad-overwritten"
    GATE_ORDER = "gate-order"
    LSTM_FORGET_TANH = "lstm-forget-tanh"
    LSTM_DC_MISSING = "lstm-dc-missing"
    LSTM_DC_THROUGH_H = "lstm-dc-through-h"
    LSTM_DC_PREV_FORGET = "lstm-dc-prev-forget"
    LSTM_FORGET_GRAD = "lstm-forget-grad"
    # -- optimisers --------------------------------------------------------------
    MOMENTUM_DAMPENED = "momentum-dampened"
    MOMENTUM_SIGN = "momentum-sign"
    STATE_NOT_KEPT = "state-not-kept"
    EPS_PLACEMENT = "eps-placement"
    BIAS_CORRECTION = "bias-correction"
    STEP_COUNT = "step-count"
    ADAM_TF_FORM = "adam-tf-form"
    RMSPROP_NO_SQRT = "rmsprop-no-sqrt"
    BIAS_CORRECTION_BETA = "bias-correction-beta"
    STEP_COUNT_OFF_BY_ONE = "step-count-off-by-one"
    # -- transfer learning -------------------------------------------------------
    NOT_FROZEN = "not-frozen"
    HEAD_FROZEN = "head-frozen"
    HEAD = "head"
    BACKBONE_CHANGED = "backbone-changed"
    TRAINABLE = "trainable"
    NOT_MODULE = "not-module"
    NOT_LIST = "not-list"

    def __str__(self) -> str:  # f-strings and str() give the code itself
        return self.value


# code -> (meaning: what happened, hint: what to do). One line each.
_TABLE: dict[Diagnosis, tuple[str, str]] = {
    Diagnosis.NOT_STARTED: ("the function still raises NotImplementedError", "Delete the `raise NotImplementedError(...)` line and write the body where the TODO is."),
    Diagnosis.NOT_RUN: ("the check could not run because the run stopped early", "Fix the problem reported first (an import error, a timeout, ...); the other checks run after that."),
    Diagnosis.MISSING: ("the file defines no function of the expected name", "Keep the function names and signatures of the starter file."),
    Diagnosis.EXCEPTION: ("the learner's code raised an exception", "The message names the line in your file: print the shapes just before it."),
    Diagnosis.UNREADABLE: ("what came back was too odd for the grader to compare", "Return exactly what the docstring asks for: numpy float64 arrays, tuples in the stated order."),
    Diagnosis.TIMEOUT: ("the code ran past the time limit", "Look for a loop that never ends, or a loop over every element where numpy can work on whole arrays."),
    Diagnosis.RECURSION: ("a function calls itself (or functions call each other) without end: a recursion with no base case, or one it never reaches",
                          "A recursive function needs a base case: an `if` that returns without calling itself, and each call must move its arguments toward it. The exercises need no recursion: a loop (or a call to the right helper, not to the function itself) does the job."),
    Diagnosis.MEMORY: ("the code ran out of memory", "Look for an array far larger than the inputs (an outer product, or a list that keeps growing)."),
    Diagnosis.OUTPUT: ("the code printed more than the output limit", "Remove prints inside loops."),
    Diagnosis.CRASH: ("the process running the code crashed", "Look for os.abort, ctypes, or anything that kills the interpreter."),
    Diagnosis.EXIT: ("the code called sys.exit or os._exit", "Remove calls to sys.exit()/exit()/os._exit() from the file."),
    Diagnosis.IMPORT: ("importing the file raised an exception", "Code at the top level of the file runs on import: keep only imports and definitions there."),
    Diagnosis.SYNTAX: ("the file has a syntax error", "Fix the line the message names (a missing bracket or colon, mixed indentation)."),
    Diagnosis.PROTOCOL: ("the result channel between the grader and the code was corrupted", "Do not write to file descriptors your code did not open."),
    Diagnosis.PROCESSES: ("the code started more processes than allowed", "Exercises need no fork(), subprocess or multiprocessing: remove them."),
    Diagnosis.CONSTANT_FORWARD: ("the forward's output does not depend on its input (a placeholder)", "Write the forward first: the backward is checked against the forward's own finite differences."),
    Diagnosis.DISK: ("the code wrote more files than allowed", "Exercises write no files: remove the code that saves or writes them."),
    Diagnosis.NONE: ("a function returned None", "Is a `return` statement missing at the end of the function?"),
    Diagnosis.ARITY: ("a function returned the wrong number of items", "Check what each function returns: forwards return (out, cache), backwards one gradient per input."),
    Diagnosis.NOT_ARRAY: ("something other than a numpy array came back", "Return numpy arrays (np.asarray), not lists, tensors or strings."),
    Diagnosis.SHAPE: ("an array came back with the wrong shape", "A gradient has the shape of the input it belongs to; print .shape of what you return."),
    Diagnosis.DTYPE: ("an array came back with a dtype other than float64", "Keep everything in float64: no .astype(np.float32) or np.float16 (an array made float32 stays float32 through += and *=), and no integer or boolean arrays for values."),
    Diagnosis.KEYS: ("a returned dict lacks some of the expected keys", "Return a gradient for every key of params (zeros where a key gets no gradient)."),
    Diagnosis.FLOAT32: ("the values went through float32 somewhere (about 7 correct digits instead of 16)", "Keep every array in float64: look for np.float32, .astype(np.float32) or dtype=np.float32."),
    Diagnosis.FLOAT16: ("the values went through float16 somewhere (about 3 correct digits instead of 16)", "Keep every array in float64: look for np.float16, .astype(np.float16) or dtype=np.float16."),
    Diagnosis.MATMUL_SHAPE: ("a matrix product whose inner dimensions do not agree", "For A @ B the last axis of A must equal the first axis of B: write the shapes down and check each transpose."),
    Diagnosis.BROADCAST: ("two arrays whose shapes cannot be broadcast together", "Print both shapes; a missing keepdims=True or a wrong axis is the usual cause."),
    Diagnosis.VALUES: ("the values differ from the reference, with no known cause", "Compare with the reference at the index the message names; recompute that entry by hand."),
    Diagnosis.NAN: ("a NaN or infinity came back where a finite number was expected", "Look for 0/0, inf - inf, or an overflowing exp; the message names the index."),
    Diagnosis.OVERFLOW: ("exp overflowed: a large positive number was exponentiated", "Rearrange the formula so that exp only sees numbers <= 0; np.where computes both branches, so select with a mask or use -|x|."),
    Diagnosis.LOG_ZERO: ("log of 0: a probability underflowed to exactly 0 before the log", "Compute log-probabilities directly (shifted - log(sum(exp(shifted)))) instead of taking the log of a softmax."),
    Diagnosis.LOG_EPSILON: ("a small constant was added inside the log, shifting the loss", "Do not add an epsilon inside the log; log-sum-exp on max-shifted logits is exact and never takes log(0)."),
    Diagnosis.SOFTMAX_OVERFLOW: ("the softmax overflowed: exp of a large logit is inf", "Subtract each row's maximum logit before exponentiating: the softmax does not change."),
    Diagnosis.RETURN_ORDER: ("the gradients came back in another order than the inputs", "A backward returns one gradient per input of its forward, in the inputs' order: dense_backward returns dx, dW, db."),
    Diagnosis.TRANSPOSED: ("a gradient came back transposed", "A gradient has its input's shape; the order of the factors in the matrix product decides it."),
    Diagnosis.SIGN: ("the values are the reference times -1", "The sign is flipped: check which term is subtracted from which."),
    Diagnosis.FACTOR: ("the values are the reference times a clean constant factor", "A constant factor is missing or extra: look for a 2, a 1/2 or a division by a size."),
    Diagnosis.ZERO: ("zeros came back where the reference is not zero", "Something is never filled in, or is multiplied by 0; check the accumulation."),
    Diagnosis.BATCH_MEAN: ("off by exactly the batch size N: the batch mean is taken twice or not at all", "The 1/N of a mean loss belongs in one place only: in the loss's gradient."),
    Diagnosis.BACKWARD_VS_FORWARD: ("the backward disagrees with finite differences of the learner's own forward", "If the forward check passes the mistake is in the backward; if not, fix the forward first."),
    Diagnosis.BIAS_AVERAGED: ("a bias (or shift/scale) gradient was averaged over the batch instead of summed", "Sum over the batch: the 1/N of the mean loss is already inside dout."),
    Diagnosis.DB_NOT_SUMMED: ("a bias gradient still has the batch (or spatial) axes: it was never summed", "The bias is shared by every example (and position): sum dout over those axes."),
    Diagnosis.RELU_KINK: ("the ReLU gradient differs only where the input is exactly 0", "By PyTorch's convention the derivative at 0 is 0: use a strict comparison, x > 0."),
    Diagnosis.RELU_MASK: ("the ReLU mask is inverted", "The gradient passes where the input was positive."),
    Diagnosis.RELU_ON_LOGITS: ("a ReLU was applied to the output layer's logits", "The last layer gives logits straight to the softmax: no ReLU after it."),
    Diagnosis.SIGMOID_DERIVATIVE: ("the sigmoid derivative lacks its (1 - s) factor", "The derivative of s = sigmoid(x) is s * (1 - s)."),
    Diagnosis.TANH_DERIVATIVE: ("a tanh derivative is wrong (not 1 - tanh**2)", "The derivative of h = tanh(a) is 1 - h**2, with h the tanh's own output."),
    Diagnosis.MASK_NOT_RESCALED: ("the dropout mask is applied without the 1/(1 - p) scale", "Inverted dropout divides kept units by (1 - p), in the forward and in the backward."),
    Diagnosis.KEEP_PROB: ("p was used as the keep probability instead of the drop probability", "p is the probability of dropping a unit: keep when rng.random(...) >= p, scale by 1/(1 - p)."),
    Diagnosis.DROP_RATE: ("the fraction of dropped units is far from p", "Check the comparison that builds the mask."),
    Diagnosis.RNG_IGNORED: ("the dropout mask does not come from the rng argument", "Draw the mask with rng.random(x.shape), not np.random."),
    Diagnosis.EVAL_SCALED: ("test-mode dropout scales its input", "With inverted dropout test mode returns x unchanged."),
    Diagnosis.EVAL_DROPPED: ("test-mode dropout still drops units", "When train is False return x unchanged: no mask at test time."),
    Diagnosis.L2_CONVENTION: ("the L2 penalty uses lam*sum(w**2) instead of the exercise's lam/2*sum(w**2)", "This exercise's penalty is lam/2 * sum(w**2), whose gradient is lam * w."),
    Diagnosis.L2_GRAD_NO_LAM: ("the L2 gradient is missing its lam factor", "The gradient of lam/2 * sum(w**2) is lam * w."),
    Diagnosis.BIAS_PENALISED: ("the biases were penalised as well as the weights", "Only keys starting with 'W' are penalised; a bias's penalty gradient is zeros."),
    Diagnosis.BIASED_VAR: ("the unbiased variance (N - 1) was used where this exercise uses the biased one (N)", "Use x.var(axis=0) (divides by N) for normalising and for the running variance."),
    Diagnosis.MOMENTUM_SWAPPED: ("the running average weighs the new batch by momentum instead of the old value", "running = momentum * running + (1 - momentum) * batch statistic."),
    Diagnosis.EVAL_BATCH_STATS: ("test mode normalised with the batch's own statistics", "At test time use state's running mean and variance."),
    Diagnosis.RUNNING_STATS: ("the running statistics are missing from state after training", "After a training call state must hold 'running_mean' and 'running_var'."),
    Diagnosis.BN_RUNNING_IN_TRAIN: ("training mode normalised with the running statistics instead of the batch's", "In training mode normalise with this batch's mean and variance; the running averages are for test mode."),
    Diagnosis.BN_EVAL_UPDATES_STATE: ("test mode changed state (the running statistics)", "Update state only when train is True: the running-average update belongs inside `if train:`."),
    Diagnosis.BN_EPS_OUTSIDE: ("eps was added outside the square root (sqrt(var) + eps)", "Batch norm divides by sqrt(var + eps): eps goes inside the root."),
    Diagnosis.BN_DX_PARTIAL: ("the batch-norm backward treats the batch mean and variance as constants", "The mean and variance depend on x: dx has two more terms, through each of them."),
    Diagnosis.BN_DX_NO_VAR: ("the batch-norm backward misses the path through the variance", "Subtract x_hat times the batch mean of dx_hat * x_hat: that is the variance's share."),
    Diagnosis.BN_DX_NO_MEAN: ("the batch-norm backward misses the path through the mean", "Subtract the batch mean of dx_hat: that is the mean's share."),
    Diagnosis.BN_DX_UNBIASED_VAR: ("the batch-norm backward uses the unbiased variance (N - 1) for 1/sqrt(var + eps), where the forward normalised with the biased one (N)", "Use the forward's own 1/sqrt(var + eps), with var = x.var(axis=0) (divides by N): keep it in the cache instead of recomputing it."),
    Diagnosis.KERNEL_FLIPPED: ("the convolution flips its kernel", "Deep-learning convolution is a cross-correlation: use w as it is."),
    Diagnosis.CONV_DX_PADDED: ("the convolution's dx still carries its zero padding", "Cut the padding off the padded gradient: rows and columns pad .. pad + H and pad .. pad + W."),
    Diagnosis.CONV_DX_CROP: ("the padding was cut with [pad:-pad], which is empty when pad = 0", "Slice with [pad:pad + H] (or the input's own size), which also works when pad = 0."),
    Diagnosis.CONV_STRIDE_BACKWARD: ("the convolution's backward ignores the stride", "The backward must visit exactly the forward's windows: they start at i * stride, j * stride."),
    Diagnosis.CONV_DW_OVERWRITTEN: ("the weight gradient is overwritten at every output position (= instead of +=)", "Every output position uses the same kernel, so each one adds its share to dw: accumulate with +=."),
    Diagnosis.CONV_PAD_OFFSET: ("the convolution's backward pads x, or cuts dx out of the padded gradient, one row and column off from the forward", "Pad exactly as the forward does (pad on each side) and cut dx with [pad:pad + H, pad:pad + W]: row pad of the padded gradient is row 0 of x."),
    Diagnosis.POOL_AVERAGE: ("the pooling gradient is spread over the window instead of going to its maximum", "Each window's gradient belongs to its maximum only."),
    Diagnosis.POOL_OVERWRITE: ("overlapping pooling windows overwrite each other's gradient (= instead of +=)", "Where windows overlap an input can win several of them: add with +=."),
    Diagnosis.BPTT_CARRY: ("backpropagation through time drops the gradient arriving from the next step", "Add the dh_prev of step t + 1 to dh[:, t] before the step's backward."),
    Diagnosis.GRAD_OVERWRITTEN: ("a weight gradient keeps only one time step's share (overwritten, not accumulated)", "Weights are shared across time: add each step's gradient with +=."),
    Diagnosis.GATE_ORDER: ("the LSTM gates are stacked in another order than i, f, g, o", "PyTorch's order: columns [0:H] i, [H:2H] f, [2H:3H] g, [3H:4H] o."),
    Diagnosis.LSTM_FORGET_TANH: ("the LSTM forget gate goes through tanh instead of a sigmoid", "i, f and o are sigmoids (values in 0..1); only the candidate g uses tanh."),
    Diagnosis.LSTM_DC_MISSING: ("the LSTM backward ignores the gradient arriving in dc", "The cell's total gradient is dc plus the part that flows back through h."),
    Diagnosis.LSTM_DC_THROUGH_H: ("the LSTM backward misses the cell gradient that flows through h = o * tanh(c)", "Add dh * o * (1 - tanh(c)**2) to dc before the gates' gradients."),
    Diagnosis.LSTM_DC_PREV_FORGET: ("dc_prev lacks the forget gate factor", "c = f * c_prev + i * g, so dc_prev = (total dc) * f."),
    Diagnosis.LSTM_FORGET_GRAD: ("the LSTM backward gets the forget gate's gradient df wrong or drops it (the path from c through f)", "c = f * c_prev + i * g, so df = (total dc) * c_prev * f * (1 - f): the forget gate's share of the cell gradient."),
    Diagnosis.MOMENTUM_DAMPENED: ("the velocity mixes in (1 - momentum) * dw, which torch's SGD does not", "torch's SGD: v = momentum * v + dw."),
    Diagnosis.MOMENTUM_SIGN: ("the momentum step has the wrong sign: it climbs the loss", "Step against the gradient: w - lr * v."),
    Diagnosis.STATE_NOT_KEPT: ("the optimiser's buffers are not kept in state between calls", "Store the buffers in the state dict so the next call sees them."),
    Diagnosis.EPS_PLACEMENT: ("eps is inside the square root; torch adds it after", "Divide by sqrt(average) + eps."),
    Diagnosis.BIAS_CORRECTION: ("Adam without bias correction", "Divide m by (1 - beta1**t) and v by (1 - beta2**t), t the step count."),
    Diagnosis.STEP_COUNT: ("the bias correction always uses t = 1", "Count the steps in state: t grows by one on every call."),
    Diagnosis.ADAM_TF_FORM: ("Adam in the form that folds the bias correction into the learning rate (eps not corrected)", "torch corrects m and v themselves: m_hat / (sqrt(v_hat) + eps), not lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + eps)."),
    Diagnosis.RMSPROP_NO_SQRT: ("RMSprop divides by the running mean of dw**2 without its square root", "Divide by sqrt(s) + eps."),
    Diagnosis.BIAS_CORRECTION_BETA: ("Adam bias-corrects a moment with the other moment's beta (v by 1 - beta1**t, or m by 1 - beta2**t)", "Each average is corrected with its own beta: m by (1 - beta1**t), v by (1 - beta2**t)."),
    Diagnosis.STEP_COUNT_OFF_BY_ONE: ("the bias correction uses a step count one off: the count read before this call's increment (0 on the first call), or one past it", "Add 1 to the stored count first, then correct with it: the first call uses t = 1, the second t = 2."),
    Diagnosis.NOT_FROZEN: ("backbone parameters still require gradients", "Set requires_grad = False on every backbone parameter."),
    Diagnosis.HEAD_FROZEN: ("the new head does not require gradients", "Freeze first, then replace the head."),
    Diagnosis.HEAD: ("the head was not replaced by Linear(in_features, num_classes) where it was", "Replace only the last Linear layer, keeping its in_features."),
    Diagnosis.BACKBONE_CHANGED: ("backbone weights were changed or removed", "Keep the pretrained layers as they are; replace only the head."),
    Diagnosis.TRAINABLE: ("trainable_parameters returned other parameters than the head's", "Keep the parameters whose requires_grad is True."),
    Diagnosis.NOT_MODULE: ("build_feature_extractor returned something other than an nn.Module", "Return the model itself."),
    Diagnosis.NOT_LIST: ("trainable_parameters did not return a list of parameters", "Return a list: [p for p in model.parameters() if ...]."),
}

_BY_VALUE: dict[str, Diagnosis] = {d.value: d for d in Diagnosis}


def is_known(code: str | Diagnosis) -> bool:
    return str(code) in _BY_VALUE


def get(code: str | Diagnosis) -> Diagnosis:
    """The registry entry for ``code``; ValueError for an unregistered code."""
    try:
        return _BY_VALUE[str(code)]
    except KeyError:
        raise ValueError(f"unregistered diagnosis code {code!r}: add it to tutor/grading/diagnoses.py") from None


def meaning(code: str | Diagnosis) -> str:
    return _TABLE[get(code)][0]


def hint(code: str | Diagnosis) -> str:
    """General advice for ``code`` (an exercise's tailored hint in info.toml takes precedence)."""
    return _TABLE[get(code)][1]


def codes() -> list[str]:
    return [d.value for d in Diagnosis]
