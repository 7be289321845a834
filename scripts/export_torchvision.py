#!/usr/bin/python3
"""Export a torchvision classifier with random weights to ONNX (no download, no internet).

Usage: export_torchvision.py MODEL OUT.onnx [--opset 13] [--batch 1] [--keep-bn] [--seed 0]

MODEL is one of resnet18, mobilenet_v2, squeezenet1_1. The input is BATCHx3x224x224 float32,
named "input"; the output is named "logits". --batch takes a number, or a symbol name such as
N to export a dynamic batch dimension. The model is exported in eval mode with
do_constant_folding=True, so PyTorch folds each BatchNormalization into the preceding Conv;
--keep-bn exports in training-preserving mode, which keeps BatchNormalization nodes (with
running statistics) in the graph.

BatchNorm scale/shift and running statistics are randomised too (seeded). With torchvision's
initial values (1, 0, 0, 1) every folded bias would be zero, and the exporter would merge the
identical initializers behind Identity nodes -- a graph no trained model produces.

Uses Debian's python (torch 1.13, torchvision 0.14, onnx 1.12), not the pyenv python3.
"""
import argparse
import sys

import onnx
import torch
import torchvision

MODELS = {
    "resnet18": torchvision.models.resnet18,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "squeezenet1_1": torchvision.models.squeezenet1_1,
}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", choices=sorted(MODELS))
    p.add_argument("out", help="path of the .onnx file to write")
    p.add_argument("--opset", type=int, default=13)
    p.add_argument("--batch", default="1", help="batch size, or a symbol (e.g. N) for a dynamic batch")
    p.add_argument("--keep-bn", action="store_true", help="keep BatchNormalization nodes")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    return p.parse_args(argv)


def randomize_batch_norm(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)


def main(argv):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    model = MODELS[args.model](weights=None).eval()
    randomize_batch_norm(model)

    dynamic = not args.batch.isdigit()
    batch = 1 if dynamic else int(args.batch)
    if batch < 1:
        sys.exit("--batch must be >= 1 or a symbol name")
    x = torch.randn(batch, 3, 224, 224)

    training = torch.onnx.TrainingMode.PRESERVE if args.keep_bn else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(
        model, x, args.out,
        opset_version=args.opset,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: args.batch}, "logits": {0: args.batch}} if dynamic else None,
        do_constant_folding=True,
        training=training,
    )
    onnx.checker.check_model(onnx.load(args.out))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.out}: {args.model}, opset {args.opset}, batch {args.batch}, "
          f"torch parameters {n_params}")


if __name__ == "__main__":
    main(sys.argv[1:])
