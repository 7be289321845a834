#!/usr/bin/python3
"""Train and export the Fashion-MNIST reference models used by hone.

Usage:
    scripts/train_fashion_mnist.py --model fmnist_cnn|fmnist_mobilenet \
        --out models/ [--epochs N] [--seed 0]

Reads Fashion-MNIST from Debian's dataset-fashion-mnist package
(/usr/share/datasets/fashion-mnist/*.gz, IDX format), trains on CPU with a
fixed seed and a deterministic data order, exports ONNX opset 13 with the
BatchNormalization nodes kept (inference form), and writes a JSON sidecar
with the sha256 and the accuracy on the full 10,000-image test split.

Preprocessing: float32 NCHW [N,1,28,28], x / 255 (no mean/std
normalisation). Output: raw logits (no softmax).

Requires Debian's python3 (torch, onnx, numpy). No network access needed.
"""

import argparse
import datetime
import gzip
import hashlib
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
OPSET = 13

# Default training recipe per model: epochs, batch size, peak LR, weight decay.
RECIPES = {
    "fmnist_cnn": dict(epochs=6, batch_size=128, lr=2e-3, weight_decay=1e-4),
    "fmnist_mobilenet": dict(epochs=6, batch_size=128, lr=3e-3, weight_decay=1e-4),
}


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def read_idx(path):
    """Read a gzipped IDX file into a numpy array (big-endian header)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    arr = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch")
    return arr.reshape(dims)


def load_split(split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    return images, labels.astype(np.int64)


def preprocess(images_u8):
    """uint8 [N,28,28] -> float32 NCHW [N,1,28,28], x / 255."""
    return (images_u8.astype(np.float32) / np.float32(255.0))[:, None, :, :]


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def conv_bn_relu(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class FmnistCNN(nn.Module):
    """3 x (Conv3x3-BN-ReLU-MaxPool2), Flatten, Linear-ReLU, Linear -> 10."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(1, 32), nn.MaxPool2d(2),    # 28 -> 14
            conv_bn_relu(32, 64), nn.MaxPool2d(2),   # 14 -> 7
            conv_bn_relu(64, 64), nn.MaxPool2d(2),   # 7 -> 3
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 3 * 3, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def conv_bn_relu6(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """1x1 expand-BN-ReLU6, 3x3 depthwise-BN-ReLU6, 1x1 project-BN (+ residual)."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            conv_bn_relu6(cin, hidden, 1),
            conv_bn_relu6(hidden, hidden, 3, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


class FmnistMobileNet(nn.Module):
    """MobileNetV2-style network for 28x28 single-channel input."""

    # (expand ratio, out channels, stride); the stem already halves 28 -> 14.
    BLOCKS = [
        (4, 16, 1),   # 14x14, residual
        (6, 24, 1),   # 14x14
        (6, 24, 1),   # residual
        (6, 32, 2),   # -> 7x7
        (6, 32, 1),   # residual
        (6, 64, 1),
        (6, 64, 1),   # residual
    ]

    def __init__(self, last_channels=256):
        super().__init__()
        layers = [conv_bn_relu6(1, 16, 3, stride=2)]  # 28 -> 14
        cin = 16
        for t, c, s in self.BLOCKS:
            layers.append(InvertedResidual(cin, c, s, t))
            cin = c
        layers.append(conv_bn_relu6(cin, last_channels, 1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(last_channels, 10)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.fc(self.dropout(self.flatten(x)))


def build_model(name):
    if name == "fmnist_cnn":
        return FmnistCNN()
    if name == "fmnist_mobilenet":
        return FmnistMobileNet()
    raise ValueError(name)


def init_weights(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------
# Training / evaluation
# --------------------------------------------------------------------------

def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


@torch.no_grad()
def predict_logits(model, x, batch_size=1000):
    model.eval()
    out = []
    for i in range(0, len(x), batch_size):
        out.append(model(torch.from_numpy(x[i:i + batch_size])).numpy())
    return np.concatenate(out)


def train(model, x_train, y_train, x_test, y_test, epochs, batch_size, lr,
          weight_decay, seed, log):
    rng = np.random.RandomState(seed)  # deterministic data order
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = len(x_train) // batch_size  # drop the ragged last batch
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2)
    # channels_last roughly halves CPU time for the depthwise convs and BN;
    # it changes memory layout only, not the model.
    model.to(memory_format=torch.channels_last)
    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(y_train)
    for epoch in range(epochs):
        model.train()
        t0 = time.time()
        perm = torch.from_numpy(rng.permutation(len(x_train)))
        total_loss, correct, seen = 0.0, 0, 0
        for step in range(steps_per_epoch):
            idx = perm[step * batch_size:(step + 1) * batch_size]
            xb = xt[idx].contiguous(memory_format=torch.channels_last)
            yb = yt[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
        test_acc = float((predict_logits(model, x_test).argmax(1) == y_test).mean())
        log(f"epoch {epoch + 1}/{epochs}: loss {total_loss / seen:.4f} "
            f"train_acc {correct / seen:.4f} test_acc {test_acc:.4f} "
            f"({time.time() - t0:.1f}s)")
    model.to(memory_format=torch.contiguous_format)


# --------------------------------------------------------------------------
# ONNX export and a tiny numpy ONNX evaluator for cross-checking
# --------------------------------------------------------------------------

def export_onnx(model, path):
    import onnx
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    # PRESERVE with the model in eval() keeps BatchNormalization nodes in
    # inference form (single output). EVAL would run the eval peephole pass,
    # which folds BN into the preceding Conv.
    torch.onnx.export(
        model, dummy, path,
        export_params=True,
        opset_version=OPSET,
        do_constant_folding=False,
        training=torch.onnx.TrainingMode.PRESERVE,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
    )
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    bn = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
    if not bn:
        raise RuntimeError("exported graph has no BatchNormalization nodes")
    for n in bn:
        train_attr = [a for a in n.attribute if a.name == "training_mode" and a.i != 0]
        if len(n.output) != 1 or train_attr:
            raise RuntimeError(f"BatchNormalization {n.name} is in training form")
    return m


def _attr(node, name, default=None):
    import onnx
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _pad_nchw(x, pads, value=0.0):
    h0, w0, h1, w1 = pads
    return np.pad(x, ((0, 0), (0, 0), (h0, h1), (w0, w1)), constant_values=value)


def _windows(x, kh, kw, sh, sw):
    """x [N,C,H,W] -> [N,C,OH,OW,kh,kw] view."""
    v = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return v[:, :, ::sh, ::sw]


def run_onnx_numpy(model_proto, x):
    """Minimal float32 ONNX interpreter covering the ops these models export."""
    from onnx import numpy_helper
    g = model_proto.graph
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    env[g.input[0].name] = x
    for n in g.node:
        ins = [env[i] if i else None for i in n.input]
        op = n.op_type
        if op == "Conv":
            xx, w = ins[0], ins[1]
            b = ins[2] if len(ins) > 2 else None
            group = _attr(n, "group", 1)
            sh, sw = _attr(n, "strides", [1, 1])
            pads = _attr(n, "pads", [0, 0, 0, 0])
            if _attr(n, "dilations", [1, 1]) != [1, 1]:
                raise NotImplementedError("dilated Conv")
            xp = _pad_nchw(xx, pads)
            N, C = xp.shape[:2]
            M, cg, kh, kw = w.shape
            win = _windows(xp, kh, kw, sh, sw)  # N,C,OH,OW,kh,kw
            OH, OW = win.shape[2:4]
            win = win.reshape(N, group, cg, OH, OW, kh, kw)
            wg = w.reshape(group, M // group, cg, kh, kw)
            y = np.einsum("ngchwij,gocij->ngohw", win, wg, optimize=True)
            y = y.reshape(N, M, OH, OW)
            if b is not None:
                y = y + b[None, :, None, None]
            out = y.astype(np.float32)
        elif op == "BatchNormalization":
            xx, s, b, mean, var = ins
            eps = _attr(n, "epsilon", 1e-5)
            sc = s / np.sqrt(var + eps)
            out = (xx - mean[None, :, None, None]) * sc[None, :, None, None] + b[None, :, None, None]
            out = out.astype(np.float32)
        elif op == "Relu":
            out = np.maximum(ins[0], 0)
        elif op == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else np.inf
            out = np.clip(ins[0], lo, hi).astype(np.float32)
        elif op == "MaxPool":
            kh, kw = _attr(n, "kernel_shape")
            sh, sw = _attr(n, "strides", [1, 1])
            pads = _attr(n, "pads", [0, 0, 0, 0])
            if _attr(n, "ceil_mode", 0):
                raise NotImplementedError("MaxPool ceil_mode")
            xp = _pad_nchw(ins[0], pads, -np.inf)
            out = _windows(xp, kh, kw, sh, sw).max(axis=(4, 5))
        elif op == "GlobalAveragePool":
            out = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "ReduceMean":
            out = ins[0].mean(axis=tuple(_attr(n, "axes")), keepdims=bool(_attr(n, "keepdims", 1)))
        elif op == "Flatten":
            axis = _attr(n, "axis", 1)
            out = ins[0].reshape(int(np.prod(ins[0].shape[:axis])), -1)
        elif op == "Gemm":
            a, bm = ins[0], ins[1]
            if _attr(n, "transA", 0):
                a = a.T
            if _attr(n, "transB", 0):
                bm = bm.T
            out = _attr(n, "alpha", 1.0) * (a @ bm)
            if len(ins) > 2 and ins[2] is not None:
                out = out + _attr(n, "beta", 1.0) * ins[2]
        elif op == "Add":
            out = ins[0] + ins[1]
        elif op == "Identity":
            out = ins[0]
        elif op == "Constant":
            out = numpy_helper.to_array(_attr(n, "value"))
        else:
            raise NotImplementedError(op)
        env[n.output[0]] = np.asarray(out, dtype=np.float32)
        if len([o for o in n.output if o]) != 1:
            raise NotImplementedError(f"{op} with several outputs")
    return env[g.output[0].name]


def cross_check(m, x, ref_logits, log, what):
    """Run the ONNX graph with the numpy evaluator and compare with torch."""
    k = len(x)
    got = np.concatenate([run_onnx_numpy(m, x[i:i + 50]) for i in range(0, k, 50)])
    max_diff = float(np.abs(got - ref_logits).max())
    agree = int((got.argmax(1) == ref_logits.argmax(1)).sum())
    log(f"numpy ONNX cross-check ({what}) on {k} test images: max |diff| {max_diff:.2e}, "
        f"argmax agreement {agree}/{k}")
    if max_diff > 1e-3 or agree != k:
        raise RuntimeError("ONNX cross-check failed")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, choices=sorted(RECIPES))
    p.add_argument("--out", default="models/", help="output directory (default: models/)")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default: per-model recipe)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (default 1; results are only "
                        "claimed reproducible with the default)")
    p.add_argument("--check-samples", type=int, default=500,
                   help="test images cross-checked through the numpy ONNX evaluator")
    args = p.parse_args(argv)

    recipe = dict(RECIPES[args.model])
    if args.epochs is not None:
        recipe["epochs"] = args.epochs
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)

    def log(msg):
        print(msg, flush=True)

    t_start = time.time()
    tr_img, tr_lbl = load_split("train")
    te_img, te_lbl = load_split("test")
    x_train, x_test = preprocess(tr_img), preprocess(te_img)
    log(f"data: train {x_train.shape} test {x_test.shape}")

    model = build_model(args.model)
    init_weights(model)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model {args.model}: {n_params} parameters; recipe {recipe}; seed {args.seed}")

    # Pre-flight: export the untrained model and cross-check it, so export or
    # evaluator problems show up before the (long) training run. This uses no
    # randomness and leaves the model's parameters and buffers untouched.
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        m0 = export_onnx(model, os.path.join(tmp, "preflight.onnx"))
        cross_check(m0, x_test[:50], predict_logits(model, x_test[:50]), log, "pre-flight")

    train(model, x_train, tr_lbl, x_test, te_lbl, recipe["epochs"],
          recipe["batch_size"], recipe["lr"], recipe["weight_decay"], args.seed, log)
    train_time = time.time() - t_start

    # Accuracy at export: torch eval mode, same preprocessing, full test split,
    # on the exact (contiguous-format) module that is exported.
    model.eval()
    logits = predict_logits(model, x_test)
    test_acc = float((logits.argmax(1) == te_lbl).mean())
    log(f"final test accuracy (torch eval, {len(te_lbl)} images): {test_acc:.4f}")

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, f"{args.model}.onnx")
    m = export_onnx(model, onnx_path)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    size = os.path.getsize(onnx_path)
    log(f"exported {onnx_path}: {size} bytes; ops {ops}")
    if size >= 2 * 1024 * 1024:
        raise RuntimeError("exported model is >= 2 MB")

    # Cross-check the exported graph with the numpy evaluator.
    k = min(args.check_samples, len(x_test))
    if k > 0:
        cross_check(m, x_test[:k], logits[:k], log, "exported model")

    cmd = (f"scripts/train_fashion_mnist.py --model {args.model} --out models/ "
           f"--epochs {recipe['epochs']} --seed {args.seed}")
    if args.threads != 1:
        cmd += f" --threads {args.threads}"
    sidecar = {
        "model": f"{args.model}.onnx",
        "sha256": sha256_file(onnx_path),
        "test_accuracy": round(test_acc, 4),
        "test_samples": int(len(te_lbl)),
        "training_command": cmd,
        "date": datetime.date.today().isoformat(),
        "epochs": recipe["epochs"],
        "seed": args.seed,
        "batch_size": recipe["batch_size"],
        "optimizer": f"AdamW(lr={recipe['lr']}, weight_decay={recipe['weight_decay']}), OneCycleLR",
        "augmentation": "none",
        "torch_version": torch.__version__,
        "opset": OPSET,
        "input": {"name": "input", "shape": ["N", 1, 28, 28], "layout": "NCHW",
                  "dtype": "float32", "preprocessing": "x / 255"},
        "output": {"name": "logits", "shape": ["N", 10], "kind": "logits"},
        "classes": CLASSES,
        "parameters": int(n_params),
        "batchnorm_nodes": ops.get("BatchNormalization", 0),
        "file_bytes": size,
        "train_seconds": round(train_time, 1),
    }
    json_path = os.path.join(args.out, f"{args.model}.json")
    with open(json_path, "w") as f:
        json.dump(sidecar, f, indent=2)
        f.write("\n")
    log(f"wrote {json_path}: sha256 {sidecar['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
