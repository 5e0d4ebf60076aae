"""A correct optimizers solution written differently: Adam in the eps-hat form, the step count kept after its use."""

import numpy as np


def sgd_momentum(w, dw, state, lr, momentum):
    if "v" in state:
        state["v"] = momentum * state["v"] + dw
    else:
        state["v"] = np.array(dw, dtype=np.float64)
    return w - lr * state["v"]


def rmsprop(w, dw, state, lr, alpha, eps):
    state["s"] = alpha * state.get("s", 0.0) + (1 - alpha) * np.square(dw)
    return w - lr * dw / (np.sqrt(state["s"]) + eps)


def adam(w, dw, state, lr, beta1, beta2, eps):
    # the count of the coming step is what is stored (1 before the first call), and it is advanced after use
    t = state.get("next_step", 1)
    state["next_step"] = t + 1
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * dw
    state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * dw * dw
    # Kingma & Ba's "eps-hat" form: the corrections folded into the step size and into eps, which is then the same update
    root = np.sqrt(1 - beta2**t)
    step = lr * root / (1 - beta1**t)
    return w - step * state["m"] / (np.sqrt(state["v"]) + eps * root)
