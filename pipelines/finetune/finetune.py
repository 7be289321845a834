#!/usr/bin/python3
# finetune.py - fine-tune an ONNX Fashion-MNIST classifier, e.g. to recover accuracy after pruning.
#
# An example of a user-provided "external" optimizer step for hone: hone writes the current model
# to a file, runs
#     python3 finetune.py INPUT.onnx OUTPUT.onnx [options]
# and reads OUTPUT.onnx back. OUTPUT is INPUT with new values for the float initializers used as
# Conv/Gemm/MatMul weights and biases (and BatchNormalization scale/bias); names, dtypes, shapes,
# the graph, its inputs and outputs are unchanged. Weights that are exactly zero in INPUT (pruned)
# stay exactly zero. The ONNX graph runs in a small torch interpreter (NCHW), node by node.
#
# Data: the Fashion-MNIST train split (gzipped IDX), preprocessed like hone's pipeline (x / 255,
# [N,1,28,28], no normalisation); the model must output raw logits. Loss: cross entropy; Adam.
# Needs only Debian's python3-torch, python3-onnx and python3-numpy.
# Exit codes: 0 ok, 1 bad input or I/O error, 2 model not supported (unknown op, quantized),
# 3 missing dependency. Errors are one line on stderr, and OUTPUT is then not written.
import argparse
import gzip
import math
import os
import sys
import time

# Idle OpenMP threads sleep instead of spinning: on a busy machine (hone or a build running next
# to us) spinning made 2-thread training ~10x slower. Read when torch loads, so set it first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
try:
    import numpy as np
except Exception:
    print("finetune.py: needs python3-numpy (apt-get install python3-numpy)", file=sys.stderr)
    sys.exit(3)
try:
    import torch
    import torch.nn.functional as F
except Exception:  # ImportError, or a broken install (a missing shared library)
    print("finetune.py: needs python3-torch (apt-get install python3-torch)", file=sys.stderr)
    sys.exit(3)
try:
    import onnx
    from onnx import helper, numpy_helper
except Exception:
    print("finetune.py: needs python3-onnx (apt-get install python3-onnx)", file=sys.stderr)
    sys.exit(3)


class Failure(Exception):
    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def window(a, x, k, fill=0.0):
    """Pads x as the node's pads / auto_pad say; returns it, kernel, strides, dilations, pads."""
    k, nd = list(k), len(k)
    s, d = list(a.get("strides", [1] * nd)), list(a.get("dilations", [1] * nd))
    p, auto = list(a.get("pads", [0] * 2 * nd)), a.get("auto_pad", b"NOTSET").decode()
    if auto == "VALID":
        p = [0] * 2 * nd
    elif auto.startswith("SAME"):
        n = x.shape[2:]
        tot = [max((-(-n[i] // s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - n[i], 0)
               for i in range(nd)]
        lo = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in tot]
        p = lo + [t - b for t, b in zip(tot, lo)]
    if any(p):  # F.pad lists the last dimension first
        x = F.pad(x, [v for i in reversed(range(nd)) for v in (p[i], p[i + nd])], value=fill)
    return x, k, s, d, p


def conv(a, x, w, b=None):
    x, k, s, d, _ = window(a, x, a.get("kernel_shape", w.shape[2:]))
    return getattr(F, f"conv{len(k)}d")(x, w, b, s, 0, d, a.get("group", 1))


def max_pool(a, x):
    x, k, s, d, _ = window(a, x, a["kernel_shape"], -math.inf)
    return getattr(F, f"max_pool{len(k)}d")(x, k, s, 0, d, bool(a.get("ceil_mode", 0)))


def avg_pool(a, x):
    xp, k, s, _, p = window(a, x, a["kernel_shape"])
    pool, ceil = getattr(F, f"avg_pool{len(k)}d"), bool(a.get("ceil_mode", 0))
    y = pool(xp, k, s, 0, ceil, True)
    if any(p) and not a.get("count_include_pad", 0):  # divide by the count of real values
        y = y / pool(window(a, torch.ones_like(x[:1, :1]), k)[0], k, s, 0, ceil, True)
    return y


def pad_op(a, x, pads=None, value=None, axes=None):  # opset >= 11: pads/value are inputs
    p = [int(v) for v in pads.tolist()] if pads is not None else list(a["pads"])
    if axes is not None:
        raise Failure("Pad with axes is not supported", 2)
    spec = [v for i in reversed(range(x.dim())) for v in (p[i], p[i + x.dim()])]
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}[
        a.get("mode", b"constant").decode()]
    if mode == "constant":
        return F.pad(x, spec, value=float(value) if value is not None else a.get("value", 0.0))
    while len(spec) > 2 and spec[-2:] == [0, 0]:  # torch pads only the trailing dimensions
        spec = spec[:-2]
    return F.pad(x, spec, mode)


def clip(a, x, lo=None, hi=None):  # opset >= 11: min/max are inputs, before: attributes
    lo = float(lo) if lo is not None else a.get("min")
    hi = float(hi) if hi is not None else a.get("max")
    return x if lo is None and hi is None else torch.clamp(x, lo, hi)


def gemm(a, A, B, C=None):
    A, B = A.t() if a.get("transA", 0) else A, B.t() if a.get("transB", 0) else B
    y = a.get("alpha", 1.0) * (A @ B)
    return y if C is None else y + a.get("beta", 1.0) * C


def flatten(a, x):
    axis = a.get("axis", 1) + (x.dim() if a.get("axis", 1) < 0 else 0)
    return x.reshape(math.prod(x.shape[:axis]), -1)


def reshape(a, x, shape):
    shape = [int(v) for v in shape.tolist()]
    if not a.get("allowzero", 0):  # 0 copies the input's dimension
        shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return x.reshape(shape)


def constant(a):
    if "value" in a:
        return torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
    for key in ("value_float", "value_floats", "value_int", "value_ints"):
        if key in a:
            return torch.tensor(a[key])  # float32 or int64
    raise Failure("a Constant without a numeric value is not supported", 2)


OPS = {
    "Conv": conv, "Gemm": gemm, "MatMul": lambda a, x, y: torch.matmul(x, y),
    "BatchNormalization": lambda a, x, g, b, m, v: F.batch_norm(  # inference form
        x, m, v, g, b, False, 0.0, a.get("epsilon", 1e-5)),
    "Relu": lambda a, x: F.relu(x), "Clip": clip, "Sigmoid": lambda a, x: torch.sigmoid(x),
    "LeakyRelu": lambda a, x: F.leaky_relu(x, a.get("alpha", 0.01)),
    "MaxPool": max_pool, "AveragePool": avg_pool, "Pad": pad_op,
    "GlobalAveragePool": lambda a, x: x.mean(dim=tuple(range(2, x.dim())), keepdim=True),
    "GlobalMaxPool": lambda a, x: x.amax(dim=tuple(range(2, x.dim())), keepdim=True),
    "Add": lambda a, x, y: x + y, "Sub": lambda a, x, y: x - y,
    "Mul": lambda a, x, y: x * y, "Div": lambda a, x, y: x / y,
    "Flatten": flatten, "Reshape": reshape, "Constant": constant,
    "Identity": lambda a, x: x, "Dropout": lambda a, x, *rest: x,  # inference: identity
    "Concat": lambda a, *xs: torch.cat(xs, a["axis"]),
    "Transpose": lambda a, x: x.permute(*(a.get("perm") or reversed(range(x.dim())))),
}
QUANTIZED = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "ConvInteger",
             "MatMulInteger"}


class OnnxModule(torch.nn.Module):
    """Runs an ONNX graph node by node; the `trainable` initializers are nn.Parameters."""

    def __init__(self, graph, trainable):
        super().__init__()
        for n in graph.node:
            where = f"node '{n.name or n.output[0]}' ({n.op_type})"
            if n.op_type in QUANTIZED or n.op_type.startswith("QLinear"):
                raise Failure(f"quantized model, {where}: fine-tune before quantizing", 2)
            if n.domain not in ("", "ai.onnx") or n.op_type not in OPS:
                raise Failure(f"unsupported op: {where}", 2)
            if len([o for o in n.output if o]) != 1:
                raise Failure(f"{where}: only single-output nodes are supported", 2)
        self.nodes = [(n.op_type, list(n.input), n.output[0],
                       {a.name: helper.get_attribute_value(a) for a in n.attribute})
                      for n in graph.node]
        self.consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
                       for t in graph.initializer if t.name not in trainable}
        self.names = list(trainable)
        self.params = torch.nn.ParameterList(
            torch.nn.Parameter(torch.from_numpy(trainable[n].copy())) for n in self.names)
        self.inputs = [i for i in graph.input if i.name not in {t.name for t in graph.initializer}]
        if len(self.inputs) != 1 or len(graph.output) != 1:
            raise Failure("only models with one input and one output are supported", 2)
        self.output = graph.output[0].name

    def forward(self, x):
        env = {**self.consts, **dict(zip(self.names, self.params))}
        env[self.inputs[0].name] = x
        for op, ins, out, attrs in self.nodes:
            env[out] = OPS[op](attrs, *[env[i] if i else None for i in ins])
        return env[self.output]


def trainable_initializers(graph):
    """({name: array} of the float32 Conv/Gemm/MatMul weights and biases (with the bias of a
    MatMul + Add) and BatchNormalization scales and shifts, {names of the weights})."""
    floats = {t.name: numpy_helper.to_array(t) for t in graph.initializer
              if t.data_type == onnx.TensorProto.FLOAT}
    producer = {o: n.op_type for n in graph.node for o in n.output}
    weights, others = [], []
    for n in graph.node:
        if n.op_type in ("Conv", "Gemm"):
            weights, others = weights + n.input[1:2], others + n.input[2:3]
        elif n.op_type == "MatMul":
            weights += n.input
        elif n.op_type == "BatchNormalization":
            others += n.input[1:3]
        elif n.op_type == "Add" and any(producer.get(i) == "MatMul" for i in n.input):
            others += n.input
    return {i: floats[i] for i in weights + others if i in floats}, set(weights)


def read_idx(path):
    """A gzipped IDX file of unsigned bytes: 0 0 8 ndim, ndim big-endian int32 sizes, the data."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise Failure(f"cannot read {path}: {e.strerror or e}")
    nd = raw[3] if len(raw) > 4 and raw[:3] == b"\0\0\x08" else 0
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    if not nd or len(raw) != 4 + 4 * nd + math.prod(dims):
        raise Failure(f"{path}: not an unsigned-byte IDX file")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def main():
    p = argparse.ArgumentParser(description="Fine-tune an ONNX Fashion-MNIST classifier, keeping "
                                "pruned weights at zero (an external optimizer step for hone).")
    p.add_argument("input", help="ONNX model to fine-tune")
    p.add_argument("output", help="where to write the fine-tuned model")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                   help="folder with train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz")
    p.add_argument("--samples", type=int, default=20000,
                   help="train on the first N of a seeded permutation of the training images")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = p.parse_args()
    if min(args.samples, args.batch_size, args.threads) < 1 or args.epochs < 0 or args.lr <= 0:
        raise Failure("--samples, --batch-size, --threads must be >= 1, --epochs >= 0, --lr > 0")
    if not os.path.isdir(os.path.dirname(args.output) or "."):  # fail before training, not after
        raise Failure(f"cannot write {args.output}: no such directory")
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(args.threads)

    try:
        model = onnx.load(args.input)
    except Exception as e:
        raise Failure(f"cannot load model {args.input}: {getattr(e, 'strerror', None) or e}")
    trainable, weights = trainable_initializers(model.graph)
    net = OnnxModule(model.graph, trainable)
    masks = []  # (parameter, 0/1 mask) of every weight that has exact zeros
    for name, param in zip(net.names, net.params):
        if name in weights and not bool((param != 0).all()):
            masks.append((param, (param != 0).to(param.dtype)))
            param.register_hook(lambda g, m=masks[-1][1]: g * m)  # no gradient at the zeros

    images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise Failure(f"{args.data}: expected N 28x28 images and N labels")
    dims = [d.dim_value for d in net.inputs[0].type.tensor_type.shape.dim[1:]]
    if not (dims and all(dims)):
        dims = [1, 28, 28]  # dynamic sizes: NCHW, as hone's pipeline feeds it
    elif math.prod(dims) != 28 * 28:
        raise Failure(f"model input '{net.inputs[0].name}' takes {dims}, not 28x28 images")
    pick = rng.permutation(len(images))[:args.samples]
    x_all = torch.from_numpy(images[pick].astype(np.float32) / 255.0).reshape(-1, *dims)
    y_all = torch.from_numpy(labels[pick].astype(np.int64))

    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        order = torch.from_numpy(rng.permutation(len(x_all)))
        total_loss, correct = 0.0, 0
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            logits = net(x_all[idx])
            loss = F.cross_entropy(logits, y_all[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():  # put the zeros back, whatever the optimizer did
                for param, mask in masks:
                    param.mul_(mask)
            total_loss += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y_all[idx]).sum())
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total_loss / len(order):.4f}, "
              f"train-batch accuracy {correct / len(order):.4f} ({len(order)} samples)",
              flush=True)

    values = {n: p.detach().numpy() for n, p in zip(net.names, net.params)}
    for t in model.graph.initializer:  # same names, dtypes, shapes: only the values change
        if t.name in values:
            t.ClearField("float_data")
            t.raw_data = numpy_helper.from_array(values[t.name].astype(np.float32)).raw_data
    onnx.checker.check_model(model)
    tmp = args.output + ".tmp"
    try:
        onnx.save(model, tmp)
        os.replace(tmp, args.output)
    except Exception as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise Failure(f"cannot write {args.output}: {getattr(e, 'strerror', None) or e}")
    kept = sum(int((m == 0).sum()) for _, m in masks)
    print(f"finetune: trained {sum(p.numel() for p in net.params)} parameters in "
          f"{len(net.names)} tensors, kept {kept} zeros, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"finetune.py: {e}", file=sys.stderr)
        sys.exit(e.code)
    except Exception as e:  # anything unexpected: still one line, and no output file
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"finetune.py: {type(e).__name__}: {first}", file=sys.stderr)
        sys.exit(1)
