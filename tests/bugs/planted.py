"""Planted bugs: text substitutions on the reference solutions in tests/solutions, with the check and code each must get.

Each entry: (name, [(old, new), ...], failing check id, diagnosis code).
"""

from __future__ import annotations

SIGMOID = """    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    z = np.exp(x[~positive])
    out[~positive] = z / (1.0 + z)"""
LOG_PROBS = "    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)"
BN_DX = "    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))  # (N, D)"
BN_UPDATE = """        state["running_mean"] = momentum * running_mean + (1.0 - momentum) * mean
        state["running_var"] = momentum * running_var + (1.0 - momentum) * var
"""
BN_STATS = "        mean = x.mean(axis=0)  # (D,)\n        var = x.var(axis=0)  # (D,) biased: divides by N\n"
POOL_ADD = "            dx[:, :, rows, cols] += mask * dout[:, :, i, j][:, :, None, None]"
FREEZE = "    for parameter in backbone.parameters():\n        parameter.requires_grad = False\n"

BUGS: dict[str, list[tuple[str, list[tuple[str, str]], str, str]]] = {
    "backprop": [
        ("db = dout (no batch sum)", [("db = dout.sum(axis=0)", "db = dout")], "dense_backward.reference", "db-not-summed"),
        ("x @ W.T", [("out = x @ W + b  # (N, M)", "out = x @ W.T + b")], "dense_forward.values", "matmul-shape"),
        ("dense in float32", [("out = x @ W + b  # (N, M)", "out = (x.astype(np.float32) @ W.astype(np.float32)).astype(np.float64) + b")], "dense_backward.numeric", "float32"),
        ("float32 cache", [("out = x @ W + b  # (N, M)", "x = x.astype(np.float32)\n    W = W.astype(np.float32)\n    out = x @ W + b")], "dense_forward.values", "float32"),
        ("dense returns float16", [("out = x @ W + b  # (N, M)", "out = (x @ W + b).astype(np.float16)")], "dense_backward.numeric", "float16"),
        ("dense through float16", [("out = x @ W + b  # (N, M)", "out = (x @ W + b).astype(np.float16).astype(np.float64)")], "dense_forward.values", "float16"),
        ("naive sigmoid", [(SIGMOID, "    out = 1.0 / (1.0 + np.exp(-x))")], "sigmoid_forward.values", "overflow"),
        ("sigmoid as exp/(1+exp)", [(SIGMOID, "    out = np.exp(x) / (1.0 + np.exp(x))")], "sigmoid_forward.values", "overflow"),
        ("ReLU on the logits", [("        if i < layers:", "        if True:")], "mlp_forward_backward.loss", "relu-on-logits"),
        ("log of the softmax", [(LOG_PROBS, "    log_probs = np.log(np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))")], "softmax_cross_entropy.stable", "log-zero"),
        ("+1e-7 inside the log", [(LOG_PROBS, "    log_probs = np.log(np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True) + 1e-7)")], "softmax_cross_entropy.values", "log-epsilon"),
        ("no max-subtraction", [("shifted = logits - logits.max(axis=1, keepdims=True)", "shifted = logits")], "softmax_cross_entropy.stable", "softmax-overflow"),
        ("bias averaged", [("db = dout.sum(axis=0)", "db = dout.mean(axis=0)")], "dense_backward.reference", "bias-averaged"),
        ("transposed dW", [("dW = x.T @ dout", "dW = (x.T @ dout).T")], "dense_backward.reference", "transposed"),
        ("missing 1/N", [("    dlogits /= n\n", "")], "softmax_cross_entropy.values", "batch-mean"),
        ("ReLU kink", [("dx = dout * (x > 0)", "dx = dout * (x >= 0)")], "relu_backward.reference", "relu-kink"),
        ("sigmoid derivative", [("dx = dout * s * (1.0 - s)", "dx = dout * s")], "sigmoid_backward.reference", "sigmoid-derivative"),
        ("loss x1.5 in every case", [("    loss = -log_probs[np.arange(n), y].mean()", "    loss = -log_probs[np.arange(n), y].mean() * 1.5")], "softmax_cross_entropy.values", "factor"),
    ],
    "batchnorm": [
        ("unbiased variance", [("        var = x.var(axis=0)  # (D,) biased: divides by N", "        var = x.var(axis=0, ddof=1)")], "batchnorm_forward.values", "biased-var"),
        ("running stats in training", [("        mean = x.mean(axis=0)  # (D,)\n        var = x.var(axis=0)  # (D,) biased: divides by N", "        mean = running_mean\n        var = running_var")], "batchnorm_forward.values", "bn-running-in-train"),
        ("eps outside the sqrt", [("        inv_std = 1.0 / np.sqrt(var + eps)  # (D,)", "        inv_std = 1.0 / (np.sqrt(var) + eps)")], "batchnorm_forward.values", "bn-eps-outside"),
        ("backward without the variance path", [(BN_DX, "    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0))")], "batchnorm_backward.reference", "bn-dx-no-var"),
        ("backward without the mean path", [(BN_DX, "    dx = inv_std / n * (n * dx_hat - x_hat * (dx_hat * x_hat).sum(axis=0))")], "batchnorm_backward.reference", "bn-dx-no-mean"),
        ("backward treats mean and var as constants", [(BN_DX, "    dx = dx_hat * inv_std")], "batchnorm_backward.reference", "bn-dx-partial"),
        ("dgamma averaged", [("    dgamma = (dout * x_hat).sum(axis=0)  # (D,)", "    dgamma = (dout * x_hat).mean(axis=0)")], "batchnorm_backward.reference", "bias-averaged"),
        ("dbeta not summed", [("    dbeta = dout.sum(axis=0)  # (D,)", "    dbeta = dout")], "batchnorm_backward.reference", "db-not-summed"),
        ("momentum swapped", [('state["running_mean"] = momentum * running_mean + (1.0 - momentum) * mean', 'state["running_mean"] = (1.0 - momentum) * running_mean + momentum * mean')], "batchnorm_forward.running", "momentum-swapped"),
        ("test mode uses batch stats", [("        x_hat = (x - running_mean) / np.sqrt(running_var + eps)  # (N, D)", "        x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)")], "batchnorm_forward.eval", "eval-batch-stats"),
        ("output through float32", [("        out = gamma * x_hat + beta  # (N, D)", "        out = (gamma * x_hat + beta).astype(np.float32).astype(np.float64)")], "batchnorm_forward.values", "float32"),
        ("test mode updates state too", [("    if train:\n" + BN_STATS, BN_STATS.replace("        ", "    ") + "    if train:\n"), (BN_UPDATE, ""),
                                         ("    return out, cache", BN_UPDATE.replace("        ", "    ") + "    return out, cache")],
         "batchnorm_forward.eval_state", "bn-eval-updates-state"),
        ("running var unbiased", [('state["running_var"] = momentum * running_var + (1.0 - momentum) * var', 'state["running_var"] = momentum * running_var + (1.0 - momentum) * x.var(axis=0, ddof=1)')], "batchnorm_forward.running", "biased-var"),
        ("unbiased variance, backward too", [("        var = x.var(axis=0)  # (D,) biased: divides by N", "        var = x.var(axis=0, ddof=1)")], "batchnorm_backward.reference", "biased-var"),
        ("backward recomputes inv_std with ddof=1", [("        cache = (x_hat, gamma, inv_std)", "        cache = (x_hat, gamma, inv_std, x)"),
                                                     ("    x_hat, gamma, inv_std = cache", "    x_hat, gamma, inv_std, x = cache\n    inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=1) + 1e-5)")],
         "batchnorm_backward.reference", "bn-dx-unbiased-var"),
        ("backward recomputes x_hat and inv_std with ddof=1", [("        cache = (x_hat, gamma, inv_std)", "        cache = (x_hat, gamma, inv_std, x)"),
                                                               ("    x_hat, gamma, inv_std = cache", "    x_hat, gamma, inv_std, x = cache\n    var = np.var(x, axis=0, ddof=1)\n"
                                                                "    inv_std = 1.0 / np.sqrt(var + 1e-5)\n    x_hat = (x - x.mean(axis=0)) * inv_std")],
         "batchnorm_backward.reference", "bn-dx-unbiased-var"),
    ],
    "conv": [
        ("flipped kernel", [("out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b", "out[:, :, i, j] = np.tensordot(patch, w[:, :, ::-1, ::-1], axes=([1, 2, 3], [1, 2, 3])) + b")], "conv2d_forward.values", "kernel-flipped"),
        ("bias averaged", [("    db = dout.sum(axis=(0, 2, 3))  # (F,)", "    db = dout.sum(axis=(2, 3)).mean(axis=0)")], "conv2d_backward.reference", "bias-averaged"),
        ("db summed over the batch only", [("    db = dout.sum(axis=(0, 2, 3))  # (F,)", "    db = dout.sum(axis=0)")], "conv2d_backward.reference", "db-not-summed"),
        ("dx still padded", [("    dx = dxp[:, :, pad:pad + h, pad:pad + wd]", "    dx = dxp")], "conv2d_backward.reference", "conv-dx-padded"),
        ("dx cropped with [pad:-pad]", [("    dx = dxp[:, :, pad:pad + h, pad:pad + wd]", "    dx = dxp[:, :, pad:-pad, pad:-pad]")], "conv2d_backward.reference", "conv-dx-crop"),
        ("stride ignored in the backward", [("            rows = slice(i * stride, i * stride + kh)\n            cols = slice(j * stride, j * stride + kw)", "            rows = slice(i, i + kh)\n            cols = slice(j, j + kw)")], "conv2d_backward.reference", "conv-stride-backward"),
        ("max-pool backward assigns", [(POOL_ADD, POOL_ADD.replace("+=", "="))], "maxpool2d_backward.reference", "pool-overwrite"),
        ("pool gradient spread", [(POOL_ADD, "            dx[:, :, rows, cols] += dout[:, :, i, j][:, :, None, None] / size**2")], "maxpool2d_backward.reference", "pool-average"),
        ("dw divided by N", [("            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))", "            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0])) / x.shape[0]")], "conv2d_backward.reference", "batch-mean"),
        ("dw assigned, not accumulated", [("            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))", "            dw = np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))")], "conv2d_backward.reference", "conv-dw-overwritten"),
        ("padding ignored in the output size", [("    ho = (h + 2 * pad - kh) // stride + 1\n", "    ho = (h - kh) // stride + 1\n")], "conv2d_forward.values", "shape"),
        ("dx cropped one row and column late", [("    dx = dxp[:, :, pad:pad + h, pad:pad + wd]", "    dx = dxp[:, :, pad + 1:pad + 1 + h, pad + 1:pad + 1 + wd]")], "conv2d_backward.reference", "conv-pad-offset"),
        ("backward pads with pad + 1", [("    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n    dxp", "    xp = np.pad(x, ((0, 0), (0, 0), (pad + 1, pad + 1), (pad + 1, pad + 1)))\n    dxp")],
         "conv2d_backward.reference", "conv-pad-offset"),
    ],
    "dropout": [
        ("mask not rescaled", [("    scale = keep / (1.0 - p)  # same shape as x", "    scale = keep * 1.0")], "dropout_forward.train", "mask-not-rescaled"),
        ("p used as keep probability", [("keep = rng.random(x.shape) >= p", "keep = rng.random(x.shape) < p")], "dropout_forward.train", "keep-prob"),
        ("scaled by 1/p", [("    scale = keep / (1.0 - p)  # same shape as x", "    scale = keep / p")], "dropout_forward.train", "keep-prob"),
        ("test mode scaled", [("        return x.copy(), None", "        return x * (1 - p), None")], "dropout_forward.eval", "eval-scaled"),
        ("test mode still drops", [("    if not train or p == 0.0:\n", "    if p == 0.0:\n")], "dropout_forward.eval", "eval-dropped"),
        ("L2 without the 1/2", [("loss += 0.5 * lam * np.sum(value * value)", "loss += lam * np.sum(value * value)")], "l2_penalty.values", "l2-convention"),
        ("biases penalised", [('        if key.startswith("W"):', "        if True:")], "l2_penalty.values", "bias-penalised"),
        ("global RNG", [("keep = rng.random(x.shape) >= p", "keep = np.random.random(x.shape) >= p")], "dropout_forward.rng", "rng-ignored"),
        ("rng=None not handled", [("    if rng is None:\n        rng = np.random.default_rng()\n", "")], "dropout_forward.train", "exception"),
        ("fixed pattern, no RNG", [("keep = rng.random(x.shape) >= p", "keep = ((np.arange(x.size) * 0.6180339887) % 1.0 >= p).reshape(x.shape)")],
         "dropout_forward.rng", "rng-ignored"),
        ("backward not rescaled", [("    dx = dout * scale", "    dx = dout * (scale != 0)")], "dropout_backward.reference", "mask-not-rescaled"),
        ("L2 gradient without lam", [("            grads[key] = lam * value", "            grads[key] = value")], "l2_penalty.values", "l2-grad-no-lam"),
    ],
    "lstm": [
        ("gate order i, f, o, g", [("    g = np.tanh(a[:, 2 * hidden:3 * hidden])\n    o = _sigmoid(a[:, 3 * hidden:])", "    o = _sigmoid(a[:, 2 * hidden:3 * hidden])\n    g = np.tanh(a[:, 3 * hidden:])")], "lstm_step_forward.values", "gate-order"),
        ("bias averaged", [("    db = da.sum(axis=0)  # (4H,)", "    db = da.mean(axis=0)")], "lstm_step_backward.reference", "bias-averaged"),
        ("no cell gradient through h", [("    dc_total = dc + dh * o * (1.0 - tc * tc)  # (N, H)", "    dc_total = dc")], "lstm_step_backward.reference", "lstm-dc-through-h"),
        ("dc ignored", [("    dc_total = dc + dh * o * (1.0 - tc * tc)  # (N, H)", "    dc_total = dh * o * (1.0 - tc * tc)")], "lstm_step_backward.reference", "lstm-dc-missing"),
        ("dc_prev without the forget gate", [("    dc_prev = dc_total * f  # (N, H)", "    dc_prev = dc_total")], "lstm_step_backward.reference", "lstm-dc-prev-forget"),
        ("forget gate through tanh", [("    f = _sigmoid(a[:, hidden:2 * hidden])", "    f = np.tanh(a[:, hidden:2 * hidden])")], "lstm_step_forward.values", "lstm-forget-tanh"),
        ("wrong tanh derivative", [("    dg = dc_total * i * (1.0 - g * g)", "    dg = dc_total * i * (1.0 - g)")], "lstm_step_backward.reference", "tanh-derivative"),
        ("da @ Wx (no transpose)", [("    dx = da @ Wx.T  # (N, D)", "    dx = da @ Wx")], "lstm_step_backward.reference", "matmul-shape"),
        ("x @ Wx in float32", [("    a = x @ Wx + h_prev @ Wh + b  # (N, 4H)", "    a = (x.astype(np.float32) @ Wx.astype(np.float32)).astype(np.float64) + h_prev @ Wh + b")], "lstm_step_backward.numeric", "float32"),
        ("forget-gate gradient dropped", [("    df = dc_total * c_prev * f * (1.0 - f)", "    df = np.zeros_like(f)")], "lstm_step_backward.reference", "lstm-forget-grad"),
        ("forget-gate gradient without c_prev", [("    df = dc_total * c_prev * f * (1.0 - f)", "    df = dc_total * f * (1.0 - f)")], "lstm_step_backward.reference", "lstm-forget-grad"),
    ],
    "optimizers": [
        ("dampened momentum", [("momentum * velocity + dw", "momentum * velocity + (1 - momentum) * dw")], "sgd_momentum.steps", "momentum-dampened"),
        ("velocity not kept", [('    state["velocity"] = velocity\n', "")], "sgd_momentum.steps", "state-not-kept"),
        ("momentum uphill", [("    return w - lr * velocity", "    return w + lr * velocity")], "sgd_momentum.first", "momentum-sign"),
        ("RMSprop eps inside the root", [("    return w - lr * dw / (np.sqrt(square) + eps)", "    return w - lr * dw / np.sqrt(square + eps)")], "rmsprop.steps", "eps-placement"),
        ("RMSprop without sqrt", [("    return w - lr * dw / (np.sqrt(square) + eps)", "    return w - lr * dw / (square + eps)")], "rmsprop.first", "rmsprop-no-sqrt"),
        ("no bias correction", [("    m_hat = m / (1.0 - beta1**t)\n    v_hat = v / (1.0 - beta2**t)", "    m_hat = m\n    v_hat = v")], "adam.steps", "bias-correction"),
        ("step count frozen", [('    t = state.get("t", 0) + 1', "    t = 1")], "adam.steps", "step-count"),
        ("Adam eps inside the root", [("    return w - lr * m_hat / (np.sqrt(v_hat) + eps)", "    return w - lr * m_hat / np.sqrt(v_hat + eps)")], "adam.steps", "eps-placement"),
        ("TensorFlow-form Adam", [("    return w - lr * m_hat / (np.sqrt(v_hat) + eps)", "    return w - lr * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t) * m / (np.sqrt(v) + eps)")], "adam.steps", "adam-tf-form"),
        ("v corrected with beta1", [("    v_hat = v / (1.0 - beta2**t)", "    v_hat = v / (1.0 - beta1**t)")], "adam.first", "bias-correction-beta"),
        ("step count read before its increment", [('    t = state.get("t", 0) + 1', '    t = state.get("t", 0)'), ("    state.update(t=t, m=m, v=v)", "    state.update(t=t + 1, m=m, v=v)")],
         "adam.first", "step-count-off-by-one"),
        ("v corrected with the old step count", [("    v_hat = v / (1.0 - beta2**t)", "    v_hat = v / (1.0 - beta2 ** (t - 1))")], "adam.first", "step-count-off-by-one"),
        ("correction skipped on the first call, then one behind", [('    t = state.get("t", 0) + 1', '    t = state.get("t", 0)'), ("    state.update(t=t, m=m, v=v)", "    state.update(t=t + 1, m=m, v=v)"),
                                                                   ("    m_hat = m / (1.0 - beta1**t)\n    v_hat = v / (1.0 - beta2**t)",
                                                                    "    m_hat = m / (1.0 - beta1**t) if t else m\n    v_hat = v / (1.0 - beta2**t) if t else v")],
         "adam.steps", "step-count-off-by-one"),
    ],
    "rnn": [
        ("BPTT drops the carried gradient", [("rnn_step_backward(dh[:, step] + dnext, caches[step])", "rnn_step_backward(dh[:, step], caches[step])")], "rnn_backward.reference", "bptt-carry"),
        ("dWh transposed", [("    dWh = h_prev.T @ da  # (H, H)", "    dWh = da.T @ h_prev")], "rnn_step_backward.reference", "transposed"),
        ("bias averaged", [("    db = da.sum(axis=0)  # (H,)", "    db = da.mean(axis=0)")], "rnn_step_backward.reference", "bias-averaged"),
        ("bias averaged, through BPTT", [("    db = da.sum(axis=0)  # (H,)", "    db = da.mean(axis=0)")], "rnn_backward.reference", "bias-averaged"),
        ("wrong tanh derivative", [("    da = dh * (1.0 - h * h)  # (N, H)", "    da = dh * (1.0 - h)")], "rnn_step_backward.reference", "tanh-derivative"),
        ("weight gradients overwritten", [("        dWh += dWh_t", "        dWh = dWh_t"), ("        dWx += dWx_t", "        dWx = dWx_t")], "rnn_backward.reference", "grad-overwritten"),
        ("db not summed", [("    db = da.sum(axis=0)  # (H,)", "    db = da")], "rnn_step_backward.reference", "db-not-summed"),
        ("da @ Wx (no transpose)", [("    dx = da @ Wx.T  # (N, D)", "    dx = da @ Wx")], "rnn_step_backward.reference", "matmul-shape"),
        ("dh0 dropped", [("    return dx, dnext, dWx, dWh, db", "    return dx, np.zeros_like(dnext), dWx, dWh, db")], "rnn_backward.reference", "zero"),
        ("db summed without keeping shape", [("        db += db_t", "        db = db + db_t[None]")], "rnn_backward.reference", "shape"),
    ],
    "transfer": [
        ("backbone not frozen", [("        parameter.requires_grad = False", "        pass")], "build_feature_extractor.frozen", "not-frozen"),
        ("frozen after replacing the head", [(FREEZE, ""), ("    return backbone\n", FREEZE + "    return backbone\n")], "build_feature_extractor.frozen", "head-frozen"),
        ("all parameters returned", [("    return [p for p in model.parameters() if p.requires_grad]", "    return list(model.parameters())")], "trainable_parameters.list", "trainable"),
        ("whole classifier replaced", [("        head = backbone.classifier\n        last = max(i for i, layer in enumerate(head) if isinstance(layer, nn.Linear))\n        head[last] = nn.Linear(head[last].in_features, num_classes)", "        backbone.classifier = nn.Linear(32, num_classes)")], "build_feature_extractor.head", "head"),
        ("model not returned", [("    return backbone\n", "")], "build_feature_extractor.head", "none"),
        ("wrong number of classes", [("        backbone.fc = nn.Linear(backbone.fc.in_features, num_classes)", "        backbone.fc = nn.Linear(backbone.fc.in_features, 10)")], "build_feature_extractor.head", "head"),
        ("backbone re-initialised", [("    return backbone\n", "    for m in backbone.modules():\n        if isinstance(m, nn.Conv2d):\n            m.reset_parameters()\n    return backbone\n")], "build_feature_extractor.weights", "backbone-changed"),
        ("state_dict returned", [("    return backbone\n", "    return backbone.state_dict()\n")], "build_feature_extractor.head", "not-module"),
        ("names returned", [("    return [p for p in model.parameters() if p.requires_grad]", "    return [n for n, p in model.named_parameters() if p.requires_grad]")], "trainable_parameters.list", "trainable"),
    ],
}
