#!/usr/bin/env python3
"""torch_ref.py - the reference models of issue 5 in PyTorch, for comparison.

ref-hybrid / ref-cnn exactly as h4h's C engine builds them (doc/nn.md):
input 1x28x28 zero-padded to 32x32; stem conv3x3 s2 1->16 + BN + hswish;
MBConv(t=1, 16->16, s1, residual); MBConv(t=4, 16->24, s2);
MBConv(t=4, 24->24, s1, residual); MBConv(t=4, 24->32, s2);
MBConv(t=4, 32->32, s1, residual); MBConv(t=4, 32->64, s1); (ref-hybrid only)
2 pre-LN transformer blocks on the 4x4 = 16 tokens, dim 64, 8 heads of dim
8, MLP ratio 2 with hswish; global average pool; 1x1 conv 64->256 with bias
+ hswish; linear 256->10.  About 127k parameters and 2.6 M MACs per image.

  --bench            training images/s at --batch (AdamW steps on random
                     data), inference images/s at batch 1 and --batch, peak
                     RSS; one line per figure, "name value unit"
  --train            the issue's recipe on Fashion-MNIST: AdamW lr 2e-3,
                     wd 0.05 on conv/linear weights only, batch 128,
                     per-step cosine to 0, random crop (pad 2) + flip;
                     prints test accuracy per epoch

Runs PyTorch at its best on this machine: torch.set_num_threads(--threads)
and, when started by `make bench`, OPENBLAS_NUM_THREADS=1 and large
MALLOC_MMAP/TRIM thresholds in the environment.  Exits 77 (skip) when torch
is missing, so the comparison stays optional.
"""
import argparse
import gzip
import math
import os
import resource
import struct
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("torch_ref: torch is not installed (apt-get install python3-torch);"
          " skipping", file=sys.stderr)
    sys.exit(77)


def conv_bn(cin, cout, k, s, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.Hardswish())
    return nn.Sequential(*layers)


class MBConv(nn.Module):
    def __init__(self, cin, cout, t, s):
        super().__init__()
        mid = cin * t
        layers = []
        if t != 1:
            layers.append(conv_bn(cin, mid, 1, 1))
        layers.append(conv_bn(mid, mid, 3, s, groups=mid))
        layers.append(conv_bn(mid, cout, 1, 1, act=False))
        self.body = nn.Sequential(*layers)
        self.residual = s == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):                      # x: (B, T, C)
        B, T, C = x.shape
        qkv = self.qkv(x).reshape(B, T, 3, self.heads, self.hd)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)   # (B, heads, T, hd) each
        a = (q @ k.transpose(-2, -1)) * self.hd ** -0.5
        a = a.softmax(dim=-1)
        y = (a @ v).transpose(1, 2).reshape(B, T, C)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, dim, heads, ratio):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * ratio), nn.Hardswish(),
                                 nn.Linear(dim * ratio, dim))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class RefNet(nn.Module):
    def __init__(self, hybrid):
        super().__init__()
        self.stem = conv_bn(1, 16, 3, 2)
        self.body = nn.Sequential(
            MBConv(16, 16, 1, 1), MBConv(16, 24, 4, 2), MBConv(24, 24, 4, 1),
            MBConv(24, 32, 4, 2), MBConv(32, 32, 4, 1), MBConv(32, 64, 4, 1))
        self.blocks = nn.Sequential(*[Block(64, 8, 2) for _ in range(2)]) \
            if hybrid else None
        self.head = nn.Conv2d(64, 256, 1, bias=True)
        self.fc = nn.Linear(256, 10)

    def forward(self, x):                      # x: (B, 1, 32, 32)
        x = self.body(self.stem(x))            # (B, 64, 4, 4)
        if self.blocks is not None:
            B, C, H, W = x.shape
            t = self.blocks(x.flatten(2).transpose(1, 2))
            x = t.transpose(1, 2).reshape(B, C, H, W)
        x = F.adaptive_avg_pool2d(x, 1)
        x = F.hardswish(self.head(x)).flatten(1)
        return self.fc(x)


def param_groups(model, wd):
    decay, rest = [], []
    for m in model.modules():
        for name, p in m.named_parameters(recurse=False):
            is_w = name == "weight" and isinstance(m, (nn.Conv2d, nn.Linear))
            (decay if is_w else rest).append(p)
    return [{"params": decay, "weight_decay": wd},
            {"params": rest, "weight_decay": 0.0}]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        h, w = struct.unpack(">II", data[8:16])
        return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8) \
            .reshape(n, 1, h, w)
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8).long()


def bench(model, batch, steps, threads):
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=2e-3)
    x = torch.randn(batch, 1, 32, 32)
    y = torch.randint(0, 10, (batch,))
    model.train()
    for i in range(steps + 5):                 # 5 warm-up steps
        if i == 5:
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    train = steps * batch / (time.perf_counter() - t0)
    model.eval()
    res = {"train_img_s": train}
    with torch.no_grad():
        for b in (1, batch):
            xb = x[:b]
            n = max(20, 2000 // b)
            for _ in range(3):
                model(xb)
            t0 = time.perf_counter()
            for _ in range(n):
                model(xb)
            res["infer_b%d_img_s" % b] = n * b / (time.perf_counter() - t0)
    res["peak_rss_mb"] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024
    res["threads"] = threads
    return res


def train(model, args):
    d = args.data
    xtr = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))
    ytr = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
    xte = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
    yte = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    mean, std = 0.2860, 0.3530
    # Raw pixels in [0, 1], zero (black) padding, then normalisation.
    to32 = lambda x: F.pad(x, (2, 2, 2, 2))
    norm = lambda x: (x - mean) / std
    xte = norm(to32(xte.float() / 255))
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=2e-3)
    steps = args.epochs * math.ceil(len(xtr) / args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    g = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        t0 = time.perf_counter()
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            raw = F.pad(xtr[idx].float() / 255, (2, 2, 2, 2))  # 32x32
            off = torch.randint(0, 5, (len(idx), 2), generator=g).tolist()
            flip = (torch.rand(len(idx), generator=g) < 0.5).tolist()
            # per image: random 28x28 crop of the padded image, flip
            crops = []
            for j, (dy, dx) in enumerate(off):
                c = raw[j, :, dy:dy + 28, dx:dx + 28]
                crops.append(c.flip(-1) if flip[j] else c)
            x = norm(to32(torch.stack(crops)))
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), ytr[idx]).backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = sum((model(xte[i:i + 1000]).argmax(1) ==
                       yte[i:i + 1000]).sum().item()
                      for i in range(0, len(xte), 1000)) / len(xte)
        print("epoch %d test_acc %.4f seconds %.1f" %
              (epoch + 1, acc, time.perf_counter() - t0), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="ref-hybrid",
                    choices=["ref-hybrid", "ref-cnn"])
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = RefNet(args.model == "ref-hybrid")
    nparams = sum(p.numel() for p in model.parameters())
    print("model %s params %d torch %s" % (args.model, nparams,
                                            torch.__version__))
    if args.bench:
        for k, v in bench(model, args.batch, args.steps, args.threads).items():
            print("%s %.1f" % (k, v) if isinstance(v, float) else
                  "%s %s" % (k, v))
    if args.train:
        train(model, args)


if __name__ == "__main__":
    main()
