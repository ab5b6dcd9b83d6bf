#!/usr/bin/python3
# export.py - writes the ONNX fixtures of nets/onnx/ and the MAC counts
# PyTorch gives for them (nets/onnx/pytorch_macs.tsv, read by
# tests/check_onnx.c).
#
# Each torchvision model is built with random weights (no download) in eval
# mode and exported at 1x3x224x224 with export_params=False, so the weights
# are shaped graph inputs and each file is a few hundred kB.  The MACs are
# counted by forward hooks on the same forward pass: Conv2d (output elements
# x in_channels/groups x kernel) and Linear (rows x in x out).  Attention is
# counted by a hook on nn.MultiheadAttention, whose projections torch calls
# as functions, not modules (T tokens of E: in-projection 3*T*E*E, q.k^T and
# attention.v 2*T*T*E, out-projection T*E*E).  Pools, adds and
# normalisations are not counted: h4h compares its conv, dwconv, fc and
# matmul MACs with these.
#
# Needs python3-torch and python3-torchvision (Debian); only to regenerate:
#   /usr/bin/python3 nets/onnx/export.py nets/onnx
import os
import sys

import torch
import torchvision

MODELS = ["mobilenet_v2", "resnet18", "mobilenet_v3_small",
          "efficientnet_b0", "vit_b_16"]


def count_macs(model, x):
    counts = {"conv": 0, "linear": 0, "attention": 0}
    hooks = []

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1]
        counts["conv"] += out.numel() * (m.in_channels // m.groups) * k

    def linear_hook(m, inp, out):
        rows = inp[0].numel() // m.in_features
        counts["linear"] += rows * m.in_features * m.out_features

    def mha_hook(m, inp, out):
        # torchvision calls it with keyword arguments: the hook sees no
        # inputs, so the shape comes from the output, [B, T, E] or [T, B, E].
        y = out[0]
        t = y.shape[1] if m.batch_first else y.shape[0]
        b = y.shape[0] if m.batch_first else y.shape[1]
        e = m.embed_dim
        counts["attention"] += b * (4 * t * e * e + 2 * t * t * e)

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.MultiheadAttention):
            hooks.append(m.register_forward_hook(mha_hook))
        elif isinstance(m, torch.nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        y = model(x)
    for h in hooks:
        h.remove()
    return counts, tuple(y.shape)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "nets/onnx"
    torch.manual_seed(0)
    rows = []
    for name in MODELS:
        model = getattr(torchvision.models, name)(weights=None).eval()
        x = torch.zeros(1, 3, 224, 224)
        counts, yshape = count_macs(model, x)
        path = os.path.join(outdir, name + ".onnx")
        # With grad enabled, nn.MultiheadAttention takes its traceable
        # path: its fused fast path (_native_multi_head_attention) has no
        # ONNX symbolic in torch 1.13.
        torch.onnx.export(model, x, path, export_params=False,
                          opset_version=13, input_names=["input"],
                          output_names=["logits"])
        total = counts["conv"] + counts["linear"] + counts["attention"]
        rows.append((name, counts["conv"], counts["linear"],
                     counts["attention"], total, "x".join(map(str, yshape)),
                     os.path.getsize(path)))
        print("%s: %d MACs (conv %d, linear %d, attention %d), output %s, "
              "%d bytes" % (name, total, counts["conv"], counts["linear"],
                            counts["attention"], rows[-1][5], rows[-1][6]),
              file=sys.stderr)
    with open(os.path.join(outdir, "pytorch_macs.tsv"), "w") as f:
        f.write("# MACs of the fixtures as PyTorch counts them (forward "
                "hooks), written by\n# /usr/bin/python3 nets/onnx/export.py "
                "with torch %s, torchvision %s,\n# 1x3x224x224 input, "
                "opset 13, export_params=False.\n" %
                (torch.__version__, torchvision.__version__))
        f.write("model\tconv\tlinear\tattention\ttotal\toutput\tbytes\n")
        for r in rows:
            f.write("\t".join(map(str, r)) + "\n")


if __name__ == "__main__":
    main()
