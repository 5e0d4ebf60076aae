"""The builders behind the generated questions: each draws numbers and computes the answer, the
prompt, the explanation and the misconception answers in plain Python (no torch: the quiz must
start fast). The reference formulas (``dense_params``, ``conv_out``, ``adam_first_step`` ...) are
public so that tests can pin them to the real PyTorch layers and optimizers.

:mod:`tutor.quiz.generators` declares which template uses which builder, and where it is taught.
"""

from __future__ import annotations

import math
import random

from tutor.quiz.bank import plural


def _clear_of(answer: float, wrong: list[float], tolerance: float | None, margin: float = 3.0) -> bool:
    """Every misconception lies well outside the tolerance (so rounding can never save it)."""
    gap = (tolerance or 0.0) * margin
    return all(abs(w - answer) > max(gap, 1e-9) for w in wrong)


def _decimals(tolerance: float) -> int:
    return max(0, round(-math.log10(tolerance)))


def fmt(x: float) -> str:
    """A drawn number as the learner sees it (``0.3``, ``-1.25``, ``2``)."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def par(x: float) -> str:
    """A number for use inside a formula: negatives in parentheses."""
    return f"({fmt(x)})" if x < 0 else fmt(x)


def _draw(rng: random.Random, low: float, high: float, step: float, nonzero: bool = False) -> float:
    """A multiple of ``step`` in [low, high], rounded so it prints exactly."""
    n_low, n_high = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    while True:
        value = round(rng.randint(n_low, n_high) * step, 6)
        if not (nonzero and value == 0):
            return value


def _ordinal(i: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(i, f"{i}th")


# -- parameter counts ------------------------------------------------------------


def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    return n_in * n_out + (n_out if bias else 0)


def conv2d_params(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_out * (c_in * k * k + (1 if bias else 0))


def lstm_params(n_in: int, hidden: int) -> int:
    # 4 blocks (input, forget, output gates and the candidate), each with W_ih (h x i), W_hh (h x h)
    # and, as PyTorch has it, two biases.
    return 4 * (hidden * n_in + hidden * hidden + 2 * hidden)


def gru_params(n_in: int, hidden: int) -> int:
    # 3 blocks (reset and update gates and the candidate), same structure as the LSTM's.
    return 3 * (hidden * n_in + hidden * hidden + 2 * hidden)


def _bias_words(bias: bool) -> str:
    return "with a bias" if bias else "without a bias (bias=False)"


def _count_slips(total: int, slips: list[int]) -> list[float]:
    """The distinct wrong counts (a slip that happens to equal the answer is no slip here)."""
    return sorted({float(x) for x in slips if x != total})


def _build_dense(rng: random.Random) -> dict:
    n_in = rng.choice([2, 3, 4, 8, 10, 16, 20, 32, 50, 64, 100, 128, 256, 300, 512, 784])
    n_out = rng.choice([1, 2, 3, 4, 8, 10, 16, 32, 64, 100, 128, 256])
    bias = rng.random() < 0.8
    total = dense_params(n_in, n_out, bias)
    weights = n_in * n_out
    how = f"{n_in} x {n_out} = {weights} weights" + (f" + {plural(n_out, 'bias', 'biases')} = {total}" if bias else f" and no biases = {total}")
    return {
        "kind": "number",
        "prompt": (
            f"A fully connected layer (Dense in Keras, nn.Linear in PyTorch) takes {n_in} inputs and "
            f"produces {plural(n_out, 'output')}, {_bias_words(bias)}. How many trainable parameters does it have?"
        ),
        "answer": float(total),
        "explanation": (
            f"Every output has one weight per input and (with a bias) one bias of its own: {how}. "
            "The parameter count grows with inputs x outputs, which is why wide dense layers are costly."
        ),
        "params": {"n_in": n_in, "n_out": n_out, "bias": bias},
        # biases forgotten (or added where there are none); one bias per input instead of per output
        "misconceptions": _count_slips(total, [weights if bias else total + n_out, weights + n_in]),
    }


def _build_conv(rng: random.Random) -> dict:
    c_in = rng.choice([1, 3, 8, 16, 32, 64])
    c_out = rng.choice([4, 8, 16, 32, 64, 128])
    k = rng.choice([1, 3, 3, 5, 7])
    bias = rng.random() < 0.85
    total = conv2d_params(c_in, c_out, k, bias)
    per_filter = c_in * k * k
    return {
        "kind": "number",
        "prompt": (
            f"A 2-D convolution layer (Conv2D / nn.Conv2d) reads {plural(c_in, 'input channel')} "
            f"and has {c_out} filters of size {k}x{k}, {_bias_words(bias)}. "
            "How many trainable parameters does it have? (The image size does not matter.)"
        ),
        "answer": float(total),
        "explanation": (
            f"Each filter spans all {c_in} input channels: {k}x{k}x{c_in} = {per_filter} weights"
            + (" plus 1 bias" if bias else "")
            + f", and there are {c_out} filters: {c_out} x {per_filter + (1 if bias else 0)} = {total}. "
            "The weights are shared across positions, so the height and width of the image never enter."
        ),
        "params": {"c_in": c_in, "c_out": c_out, "k": k, "bias": bias},
        # biases forgotten or invented; input channels forgotten (one 2-D kernel per filter)
        "misconceptions": _count_slips(
            total,
            [c_out * per_filter if bias else total + c_out, c_out * (k * k + (1 if bias else 0))],
        ),
    }


def _build_recurrent(rng: random.Random, cell: str) -> dict:
    n_in = rng.choice([1, 2, 4, 8, 10, 16, 32, 50, 64, 100, 128, 300])
    hidden = rng.choice([4, 8, 16, 20, 32, 50, 64, 100, 128, 256])
    gates, count = (4, lstm_params(n_in, hidden)) if cell == "LSTM" else (3, gru_params(n_in, hidden))
    names = (
        "the input, forget and output gates plus the candidate"
        if cell == "LSTM"
        else "the reset and update gates plus the candidate"
    )
    per_gate = hidden * n_in + hidden * hidden + 2 * hidden
    keras = gates * (hidden * n_in + hidden * hidden + hidden)
    note = (
        f"Keras' LSTM keeps a single bias per gate and would report {keras}."
        if cell == "LSTM"
        else "Keras' GRU (reset_after=True, the default) also has two biases and reports the same number."
    )
    return {
        "kind": "number",
        "prompt": (
            f"A one-layer PyTorch nn.{cell}(input_size={n_in}, hidden_size={hidden}). "
            f"How many trainable parameters does it have? (PyTorch gives each gate two bias vectors, b_ih and b_hh.)"
        ),
        "answer": float(count),
        "explanation": (
            f"{'An' if cell == 'LSTM' else 'A'} {cell} has {gates} blocks of weights: {names}. Each block has input "
            f"weights {hidden}x{n_in}, recurrent weights {hidden}x{hidden} and two biases of {hidden}: "
            f"{hidden * n_in} + {hidden * hidden} + {2 * hidden} = {per_gate} per block, x {gates} = {count}. {note}"
        ),
        "params": {"n_in": n_in, "hidden": hidden, "cell": cell},
        # one bias per gate (Keras' LSTM), the other cell's gate count, and the input weights forgotten
        "misconceptions": _count_slips(
            count,
            [
                gates * (hidden * n_in + hidden * hidden + hidden),
                (3 if cell == "LSTM" else 4) * per_gate,
                gates * (hidden * hidden + 2 * hidden),
            ],
        ),
    }


# -- shapes ----------------------------------------------------------------------


def conv_out(size: int, k: int, stride: int = 1, padding: int = 0) -> int:
    """Output length along one axis: floor((size + 2*padding - k) / stride) + 1."""
    return (size + 2 * padding - k) // stride + 1


def stack_shape(input_shape: tuple[int, int, int], layers: list[dict]) -> list[int]:
    """(C, H, W) after a list of ``{"type": "conv"|"pool", ...}`` layers."""
    c, h, w = input_shape
    for layer in layers:
        if layer["type"] == "conv":
            c = layer["c_out"]
        h = conv_out(h, layer["k"], layer["stride"], layer.get("padding", 0))
        w = conv_out(w, layer["k"], layer["stride"], layer.get("padding", 0))
    return [c, h, w]


def _describe_layer(layer: dict, c_in: int) -> str:
    if layer["type"] == "conv":
        return (
            f"Conv2d({c_in} -> {layer['c_out']} channels, kernel {layer['k']}x{layer['k']}, "
            f"stride {layer['stride']}, padding {layer['padding']})"
        )
    return f"MaxPool2d(kernel {layer['k']}x{layer['k']}, stride {layer['stride']})"


def _build_conv_shape(rng: random.Random) -> dict:
    while True:
        c = rng.choice([1, 3])
        h = rng.choice([28, 32, 48, 64, 96, 224])
        w = h if rng.random() < 0.7 else rng.choice([28, 32, 48, 64])
        layers: list[dict] = []
        channels = c
        for i in range(rng.choice([2, 3, 3, 4])):
            if i > 0 and rng.random() < 0.4 and layers[-1]["type"] == "conv":
                k = rng.choice([2, 2, 3])
                layers.append({"type": "pool", "k": k, "stride": 2, "padding": 0})
            else:
                k = rng.choice([1, 3, 3, 5, 7])
                stride = rng.choice([1, 1, 2])
                padding = rng.choice([0, k // 2])
                channels = rng.choice([8, 16, 32, 64])
                layers.append({"type": "conv", "c_out": channels, "k": k, "stride": stride, "padding": padding})
        shape = stack_shape((c, h, w), layers)
        if shape[1] >= 1 and shape[2] >= 1 and all(
            s >= 1 for s in _walk((c, h, w), layers)
        ) and shape[0] not in (shape[1], shape[2]):  # (32, 32, 32) could not tell (C, H, W) from channels-last
            break
    lines, steps, current, c_in = [], [], (c, h, w), c
    for number, layer in enumerate(layers, start=1):
        lines.append(f"  {number}. {_describe_layer(layer, c_in)}")
        nxt = stack_shape(current, [layer])
        steps.append(
            f"{number}. floor(({current[1]} + 2*{layer['padding']} - {layer['k']}) / {layer['stride']}) + 1 = {nxt[1]}"
            + (f" (width {nxt[2]})" if nxt[2] != nxt[1] else "")
            + f" -> ({nxt[0]}, {nxt[1]}, {nxt[2]})"
        )
        current, c_in = (nxt[0], nxt[1], nxt[2]), nxt[0]
    return {
        "kind": "shape",
        "prompt": (
            f"An input of shape (channels, height, width) = ({c}, {h}, {w}) goes through:\n"
            + "\n".join(lines)
            + "\nWhat is the output shape (channels, height, width)? Leave out the batch dimension."
        ),
        "answer": shape,
        "explanation": (
            "Each layer maps a length n to floor((n + 2*padding - kernel) / stride) + 1; a convolution sets the "
            "channels to its number of filters, pooling keeps them.\n" + "\n".join(f"  {step}" for step in steps)
        ),
        "params": {"input": [c, h, w], "layers": layers},
    }


def _walk(input_shape, layers) -> list[int]:
    sizes: list[int] = []
    current = tuple(input_shape)
    for layer in layers:
        current = tuple(stack_shape(current, [layer]))
        sizes.extend(current[1:])
    return sizes


# -- activations -----------------------------------------------------------------


def softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _vector_text(values: list[float]) -> str:
    return "[" + ", ".join(fmt(v) for v in values) + "]"


def _build_softmax(rng: random.Random) -> dict:
    while True:
        n = rng.choice([3, 3, 4])
        values = [_draw(rng, -2.0, 3.0, 0.5) for _ in range(n)]
        index = rng.randrange(n)
        probs = softmax(values)
        # sigmoid of the one score (softmax confused with sigmoid) and the uniform 1/n (scores ignored)
        wrong = [sigmoid(values[index]), 1.0 / n]
        if _clear_of(probs[index], wrong, 0.001):
            break
    exps = " + ".join(f"e^{par(v)}" for v in values)
    return {
        "kind": "number",
        "prompt": (
            f"The scores (logits) {_vector_text(values)} go through softmax. "
            f"What probability does the {_ordinal(index + 1)} entry get? Give 3 decimals (within 0.001)."
        ),
        "answer": probs[index],
        "tolerance": 0.001,
        "explanation": (
            f"softmax(z)_i = e^(z_i) / sum_j e^(z_j): e^{par(values[index])} / ({exps}) = {probs[index]:.4f}. "
            "Adding the same number to every score does not change the result, and the outputs sum to 1. "
            f"The sigmoid of the score alone, {sigmoid(values[index]):.4f}, ignores the other classes."
        ),
        "params": {"values": values, "index": index},
        "misconceptions": wrong,
    }


def _build_sigmoid(rng: random.Random) -> dict:
    values = [_draw(rng, -4.0, 4.0, 0.5, nonzero=True) for _ in range(3)]
    index = rng.randrange(3)
    x = values[index]
    y = sigmoid(x)
    return {
        "kind": "number",
        "prompt": (
            f"The sigmoid is applied element by element to {_vector_text(values)}. "
            f"What is the {_ordinal(index + 1)} output? Give 3 decimals (within 0.001)."
        ),
        "answer": y,
        "tolerance": 0.001,
        "explanation": (
            f"sigmoid(x) = 1 / (1 + e^(-x)): 1 / (1 + e^{par(-x)}) = {y:.4f}. "
            "sigmoid(0) = 0.5, and sigmoid(-x) = 1 - sigmoid(x), so negative inputs land below 0.5."
        ),
        "params": {"values": values, "index": index},
        # the sign of the exponent flipped (1 / (1 + e^x)) and softmax over the vector instead
        "misconceptions": [1.0 - y] + ([softmax(values)[index]] if abs(softmax(values)[index] - y) > 0.003 else []),
    }


# -- dropout ---------------------------------------------------------------------


def inverted_dropout_kept(a: float, p: float) -> float:
    """A unit kept by inverted dropout (drop probability ``p``) is scaled by 1/(1-p)."""
    return a / (1.0 - p)


def _build_dropout(rng: random.Random) -> dict:
    p = rng.choice([0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 0.8])
    a = _draw(rng, 0.5, 4.0, 0.1)
    variant = rng.choice(["kept", "expected", "eval"])
    kept = inverted_dropout_kept(a, p)
    setup = (
        f"A layer uses inverted dropout with drop probability p = {fmt(p)} (nn.Dropout({fmt(p)}) in PyTorch, "
        f"Dropout({fmt(p)}) in Keras). One unit's activation before dropout is {fmt(a)}."
    )
    if variant == "kept":
        question = "During training, what value does this unit pass on when it is kept? Give 3 decimals (within 0.001)."
        answer = kept
        wrong = [a, a * (1 - p), a / p]  # no scaling; multiplied by the keep rate; divided by the drop rate
        why = f"a kept unit is divided by the keep probability 1 - p = {fmt(1 - p)}: {fmt(a)} / {fmt(1 - p)} = {kept:.4f}."
    elif variant == "expected":
        question = (
            "During training, what is the expected value (average over many random masks) of this unit's output? "
            "Give 3 decimals (within 0.001)."
        )
        answer = a
        wrong = [kept, a * (1 - p)]  # the kept value; the average of a layer without the 1/(1-p) scaling
        why = (
            f"with probability {fmt(1 - p)} it passes {fmt(a)} / {fmt(1 - p)} and otherwise 0, so the expectation is "
            f"{fmt(1 - p)} x {kept:.4f} = {fmt(a)}: the scaling keeps the expected activation unchanged."
        )
    else:
        question = (
            "At evaluation time (model.eval() / training=False), what does this unit pass on? "
            "Give 3 decimals (within 0.001)."
        )
        answer = a
        wrong = [kept, a * (1 - p)]  # still scaling at test time; the old, non-inverted test-time scaling
        why = f"at evaluation dropout does nothing, so the unit passes {fmt(a)} unchanged; the scaling happened in training."
    return {
        "kind": "number",
        "prompt": f"{setup} {question}",
        "answer": answer,
        "tolerance": 0.001,
        "explanation": "Inverted dropout zeroes each unit with probability p and scales survivors by 1/(1-p); " + why,
        "params": {"p": p, "a": a, "variant": variant},
        "misconceptions": sorted({round(w, 12) for w in wrong if abs(w - answer) > 1e-9}),
    }


# -- optimizers ------------------------------------------------------------------


def sgd_momentum_step(w: float, g: float, v: float, lr: float, momentum: float) -> tuple[float, float]:
    """PyTorch's SGD with momentum: v <- momentum*v + g, then w <- w - lr*v. Returns (w, v)."""
    v_new = momentum * v + g
    return w - lr * v_new, v_new


def adam_first_step(w: float, g: float, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> float:
    """The weight after Adam's first step (t = 1, m and v start at 0)."""
    m = (1 - beta1) * g
    v = (1 - beta2) * g * g
    m_hat = m / (1 - beta1)
    v_hat = v / (1 - beta2)
    return w - lr * m_hat / (math.sqrt(v_hat) + eps)


def _build_sgd(rng: random.Random) -> dict:
    tolerance = 0.0001
    while True:
        w = _draw(rng, -2.0, 2.0, 0.1)
        g = _draw(rng, -3.0, 3.0, 0.1, nonzero=True)
        v = _draw(rng, -1.0, 1.0, 0.1, nonzero=True)
        lr = rng.choice([0.5, 0.2, 0.1, 0.05, 0.01])
        mu = rng.choice([0.5, 0.8, 0.9, 0.9, 0.99])
        w_new, v_new = sgd_momentum_step(w, g, v, lr, mu)
        wrong = [
            w,  # the weight unchanged
            w - lr * g,  # the step without momentum
            w - lr * (mu * v + (1 - mu) * g),  # a dampened velocity (torch's SGD does not scale g)
            w + lr * v_new,  # the step taken uphill
        ]
        if _clear_of(w_new, wrong, tolerance):
            break
    return {
        "kind": "number",
        "prompt": (
            "SGD with momentum, as PyTorch does it:\n"
            "  v <- momentum*v + g\n"
            "  w <- w - lr*v\n"
            f"Now w = {fmt(w)}, v = {fmt(v)} (the velocity), g = {fmt(g)} (the gradient), lr = {fmt(lr)} and "
            f"momentum = {fmt(mu)}. What is w after this step? Give 4 decimals (within 0.0001)."
        ),
        "answer": w_new,
        "tolerance": tolerance,
        "explanation": (
            f"v = {fmt(mu)} x {par(v)} + {par(g)} = {fmt(round(v_new, 6))}; "
            f"w = {fmt(w)} - {fmt(lr)} x {par(round(v_new, 6))} = {fmt(round(w_new, 6))}. "
            f"Without momentum the step would give {fmt(round(w - lr * g, 6))}. "
            "The velocity carries past gradients along, so steps grow when gradients keep the same sign."
        ),
        "params": {"w": w, "g": g, "v": v, "lr": lr, "momentum": mu},
        "misconceptions": wrong,
    }


def _build_adam(rng: random.Random) -> dict:
    while True:
        w = _draw(rng, -2.0, 2.0, 0.1)
        g = _draw(rng, -5.0, 5.0, 0.1, nonzero=True)
        lr = rng.choice([0.1, 0.01, 0.001])
        tolerance = lr / 100
        w_new = adam_first_step(w, g, lr)
        sign = 1.0 if g > 0 else -1.0
        wrong = [
            w,  # the weight unchanged
            w - lr * g,  # a plain SGD step
            w - lr * 0.1 / math.sqrt(0.001) * sign,  # the step without bias correction (about 3.16 x lr)
            w + lr * sign,  # the step taken uphill
        ]
        if _clear_of(w_new, wrong, tolerance):
            break
    places = _decimals(tolerance)
    return {
        "kind": "number",
        "prompt": (
            f"Adam (beta1 = 0.9, beta2 = 0.999, eps = 1e-8, lr = {fmt(lr)}) takes its very first step.\n"
            f"Its moving averages m and v start at 0; the weight is w = {fmt(w)} and its gradient is g = {fmt(g)}.\n"
            f"What is w after the step? Give {places} decimals (within {fmt(tolerance)})."
        ),
        "answer": w_new,
        "tolerance": tolerance,
        "explanation": (
            f"m = 0.1 x {par(g)}, v = 0.001 x {par(g)}^2; bias correction divides them by 0.1 and 0.001, giving "
            f"m_hat = {fmt(g)} and v_hat = {fmt(g * g)}; the step is lr x m_hat / (sqrt(v_hat) + eps) = "
            f"{fmt(lr)} x {'1' if g > 0 else '(-1)'} (almost exactly), so w = {w_new:.6g}. "
            "Adam's first step has size lr whatever the size of the gradient; without the bias correction it "
            "would be about 3.16 x lr."
        ),
        "params": {"w": w, "g": g, "lr": lr, "betas": [0.9, 0.999], "eps": 1e-8},
        "misconceptions": wrong,
    }
