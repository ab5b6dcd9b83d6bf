#!/usr/bin/env python3
"""torch_supernet.py - the weight-sharing H4H supernet in PyTorch, to time
the sandwich training step against h4h's C engine.

The supernet is built from a search-space file (default
spaces/h4h-fmnist.json: 20 stages of kinds conv, mbconv, vit and mbpool;
28x28x1 inputs, 10 classes, resolutions 19, 22, 25, 28).  A decision is a
list of choices or {"min", "max", "step"} (min, min+step, ..., max).  Every
tensor is held at its largest shape, and a subnet uses its leading block
(first-k slicing, as OFA and AttentiveNAS): conv weights w[:OC, :IC],
depthwise w[:mid], batch-norm and layer-norm gamma/beta [:C], linear
weights w[:OUT, :IN] and biases [:OUT].  All convs are 3x3 with padding 1,
except the 1x1 pointwise ones; convs have no bias, linear layers have one.

  conv    conv 3x3 stride s -> width, BN, hswish.
  mbconv  the first `depth` blocks; block j has stride s only when j == 0.
          If the stage's largest expand is > 1: expand 1x1 C -> C*e, BN,
          hswish; then depthwise 3x3 stride s, BN, hswish; project
          1x1 -> width, BN.  mid = active input channels * active expand.
          Residual add iff stride 1 and active input channels == width.
          Depth 0 passes the map through unchanged.
  vit     the first `depth` pre-LN transformer blocks on the T = H*W tokens
          of the incoming map, C its active channels, W the active width,
          heads = W/8 of dim 8:
            x = x + proj(attn(qkv(ln1(x))))      qkv: Linear(C -> 3W),
                rows interleaved per head [q k v] (head h: rows 24h..24h+23),
                softmax(q k^T / sqrt(8)) v;  proj: Linear(W -> C)
            x = x + mlp2(gelu(mlp1(ln2(x))))     hidden = int(C*mlp + 0.5)
  mbpool  expand 1x1 C -> C*e, BN, hswish; global average pool;
          Linear(C*e -> width), hswish; dropout; Linear(width -> classes).

Elastic resolution: the 28x28 batch is downscaled with
F.interpolate(mode='bilinear', align_corners=False) to res x res (nothing
is done at 28).  Subnets: max = every decision at its largest (res 28);
min = every decision at its smallest (res 19; vit and mbconv depth 0 where
the space allows it); random = a uniform choice per decision (per stage:
width, depth, expand, mlp_ratio; and res) from a seeded generator.  The
expand ratio is one choice per stage, shared by its blocks.

Sandwich step (AttentiveNAS): zero the gradients; the max net with dropout
0.2 and drop-connect 0.2 (per-sample stochastic depth on the residual
mbconv branches, rate 0.2*i/n for the i-th (from 0) of the n residual
blocks of the subnet), label-smoothed cross entropy (0.1), backward, keep
its detached logits as the teacher; then the min net and 2 random subnets,
dropout and drop-connect 0, each with the soft cross entropy
-sum softmax(teacher) * log_softmax(student) (KL(teacher || student) up to
a constant), backward each; the gradients add up; clip the global gradient
norm to 1.0; one AdamW step (lr 2e-3, weight decay 0.05 on conv and linear
weights only).  Batch norm uses batch statistics (F.batch_norm with
training=True and no running statistics).

Phase-2 frozen step (TPI-freeze): the same sandwich, but only the vit
stages' tensors and every batch-norm gamma/beta require grad; everything
else has requires_grad=False and is left out of the optimizer.

  --bench   --warmup K steps, then --steps N timed sandwich steps at
            --batch on a fixed random batch (seeded); the same for the
            frozen step.  Prints one figure a line:
              sandwich_img_s V   batch * steps / seconds (a sandwich step,
                                 four subnets, counts `batch` images)
              frozen_img_s V     the same for the phase-2 frozen step
              max_params N       parameters of the max subnet
              max_macs N         MACs per image of the max subnet at 28
  --check   parameters and MACs of the min and max subnets, and of the
            whole supernet.

MACs per image count conv OH*OW*OC*(IC/groups)*k*k, linear T*IN*OUT,
attention 2*T*T*W, and nothing for norms, activations, adds and pools.
They and the parameter counts are taken from the tensor slices that a
forward pass of the subnet actually uses.

Runs PyTorch at its best on this machine: torch.set_num_threads(--threads)
and, when started as bench_train starts torch_ref.py, OPENBLAS_NUM_THREADS=1
and large MALLOC_MMAP/TRIM thresholds in the environment:

  OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=1000000000 \\
  MALLOC_TRIM_THRESHOLD_=1000000000 /usr/bin/python3 \\
  bench/torch_supernet.py --bench

Exits 77 (skip) when torch is missing, so the comparison stays optional.
"""
import argparse
import json
import os
import random
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("torch_supernet: torch is not installed (apt-get install "
          "python3-torch); skipping", file=sys.stderr)
    sys.exit(77)

HEAD_DIM = 8
DEFAULT_SPACE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "..", "spaces", "h4h-fmnist.json")


def choices(d):
    """A decision as the sorted list of its choices."""
    if isinstance(d, dict):
        return list(range(d["min"], d["max"] + 1, d["step"]))
    if isinstance(d, list):
        return sorted(d)
    return [d]


def bn_params(c):
    return nn.Parameter(torch.ones(c)), nn.Parameter(torch.zeros(c))


class Supernet(nn.Module):
    """Every tensor at its largest shape; forward(x, cfg) runs a subnet."""

    def __init__(self, space):
        super().__init__()
        self.space = space
        self.classes = space["classes"]
        self.resolutions = sorted(space["resolution"])
        self.dec = []                  # per stage: {decision: choices}
        self.stages = nn.ModuleList()
        cin = space["in_channels"]     # largest channels into the stage
        for st in space["stages"]:
            kind = st["block"]
            d = {"width": choices(st["width"])}
            for k in ("depth", "expand", "mlp_ratio"):
                if k in st:
                    d[k] = choices(st[k])
            self.dec.append(d)
            m = nn.Module()
            m.kind, m.stride = kind, st.get("stride", 1)
            wmax = d["width"][-1]
            if kind == "conv":
                m.conv = nn.Conv2d(cin, wmax, 3, m.stride, 1, bias=False)
                m.bn_w, m.bn_b = bn_params(wmax)
                cin = wmax
            elif kind == "mbconv":
                emax = d["expand"][-1]
                m.has_expand = emax > 1
                m.blocks = nn.ModuleList()
                for j in range(d["depth"][-1]):
                    b = nn.Module()
                    ic = cin if j == 0 else wmax
                    mid = ic * emax
                    if m.has_expand:
                        b.expand = nn.Conv2d(ic, mid, 1, bias=False)
                        b.bn1_w, b.bn1_b = bn_params(mid)
                    b.dw = nn.Conv2d(mid, mid, 3, m.stride if j == 0 else 1,
                                     1, groups=mid, bias=False)
                    b.bn2_w, b.bn2_b = bn_params(mid)
                    b.proj = nn.Conv2d(mid, wmax, 1, bias=False)
                    b.bn3_w, b.bn3_b = bn_params(wmax)
                    m.blocks.append(b)
                # depth 0 passes the incoming map through
                cin = wmax if d["depth"][0] > 0 else max(cin, wmax)
            elif kind == "vit":
                assert all(w % HEAD_DIM == 0 for w in d["width"])
                hid = int(cin * d["mlp_ratio"][-1] + 0.5)
                m.blocks = nn.ModuleList()
                for _ in range(d["depth"][-1]):
                    b = nn.Module()
                    b.ln1_w, b.ln1_b = bn_params(cin)
                    b.qkv = nn.Linear(cin, 3 * wmax)
                    b.proj = nn.Linear(wmax, cin)
                    b.ln2_w, b.ln2_b = bn_params(cin)
                    b.mlp1 = nn.Linear(cin, hid)
                    b.mlp2 = nn.Linear(hid, cin)
                    m.blocks.append(b)
            elif kind == "mbpool":
                mid = cin * d["expand"][-1]
                m.expand = nn.Conv2d(cin, mid, 1, bias=False)
                m.bn_w, m.bn_b = bn_params(mid)
                m.fc1 = nn.Linear(mid, wmax)
                m.fc2 = nn.Linear(wmax, self.classes)
            else:
                raise ValueError("unknown block kind %r" % kind)
            self.stages.append(m)
        self.count = None              # {"params", "macs"} while counting

    # -- subnets --------------------------------------------------------
    def subnet(self, which, rng=None):
        """'max', 'min' or 'random' (uniform per decision, from rng)."""
        pick = {"max": lambda c: c[-1], "min": lambda c: c[0],
                "random": lambda c: rng.choice(c)}[which]
        cfg = {"stages": [{k: pick(c) for k, c in d.items()}
                          for d in self.dec],
               "res": pick(self.resolutions)}
        return cfg

    # -- sliced ops, which also count params and MACs --------------------
    def _use(self, *tensors):
        if self.count is not None:
            self.count["params"] += sum(t.numel() for t in tensors)

    def _macs(self, n):
        if self.count is not None:
            self.count["macs"] += n

    def conv(self, x, w, stride=1, groups=1):
        self._use(w)
        y = F.conv2d(x, w, None, stride, w.shape[-1] // 2, 1, groups)
        self._macs(y.shape[2] * y.shape[3] * w.numel())
        return y

    def bn(self, x, w, b, c):
        w, b = w[:c], b[:c]
        self._use(w, b)
        return F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5)

    def ln(self, x, w, b, c):
        w, b = w[:c], b[:c]
        self._use(w, b)
        return F.layer_norm(x, (c,), w, b, 1e-5)

    def linear(self, x, lin, out, inp):
        w, b = lin.weight[:out, :inp], lin.bias[:out]
        self._use(w, b)
        t = x.shape[1] if x.dim() == 3 else 1
        self._macs(t * w.numel())
        return F.linear(x, w, b)

    # -- forward ----------------------------------------------------------
    def forward(self, x, cfg, dropout=0.0, drop_connect=0.0):
        res = cfg["res"]
        if res != x.shape[-1]:
            x = F.interpolate(x, size=(res, res), mode="bilinear",
                              align_corners=False)
        c = x.shape[1]
        # residual mbconv blocks of this subnet, for the drop-connect rates
        nres, cc = 0, c
        for m, sc in zip(self.stages, cfg["stages"]):
            if m.kind == "mbconv":
                for j in range(sc["depth"]):
                    ic = cc if j == 0 else sc["width"]
                    s = m.stride if j == 0 else 1
                    nres += s == 1 and ic == sc["width"]
                if sc["depth"] > 0:
                    cc = sc["width"]
            elif m.kind == "conv":
                cc = sc["width"]
        ires = 0
        for m, sc in zip(self.stages, cfg["stages"]):
            w = sc["width"]
            if m.kind == "conv":
                x = self.conv(x, m.conv.weight[:w, :c], m.stride)
                x = F.hardswish(self.bn(x, m.bn_w, m.bn_b, w))
                c = w
            elif m.kind == "mbconv":
                e = sc["expand"]
                for j in range(sc["depth"]):
                    b = m.blocks[j]
                    s = m.stride if j == 0 else 1
                    mid = c * e
                    y = x
                    if m.has_expand:
                        y = self.conv(y, b.expand.weight[:mid, :c])
                        y = F.hardswish(self.bn(y, b.bn1_w, b.bn1_b, mid))
                    y = self.conv(y, b.dw.weight[:mid], s, mid)
                    y = F.hardswish(self.bn(y, b.bn2_w, b.bn2_b, mid))
                    y = self.conv(y, b.proj.weight[:w, :mid])
                    y = self.bn(y, b.bn3_w, b.bn3_b, w)
                    if s == 1 and c == w:
                        p = drop_connect * ires / nres
                        ires += 1
                        if p > 0:
                            keep = 1.0 - p
                            mask = torch.floor(keep + torch.rand(
                                y.shape[0], 1, 1, 1, dtype=y.dtype))
                            y = y / keep * mask
                        x = x + y
                    else:
                        x = y
                    c = w
            elif m.kind == "vit":
                if sc["depth"] == 0:
                    continue
                B, C, H, Wd = x.shape
                T, heads = H * Wd, w // HEAD_DIM
                hid = int(C * sc["mlp_ratio"] + 0.5)
                t = x.flatten(2).transpose(1, 2)          # (B, T, C)
                for j in range(sc["depth"]):
                    b = m.blocks[j]
                    h = self.ln(t, b.ln1_w, b.ln1_b, C)
                    qkv = self.linear(h, b.qkv, 3 * w, C)
                    q, k, v = qkv.reshape(B, T, heads, 3, HEAD_DIM) \
                        .permute(3, 0, 2, 1, 4)          # (B, heads, T, 8)
                    a = (q @ k.transpose(-2, -1)) * HEAD_DIM ** -0.5
                    a = a.softmax(dim=-1)
                    self._macs(2 * T * T * w)
                    h = (a @ v).transpose(1, 2).reshape(B, T, w)
                    t = t + self.linear(h, b.proj, C, w)
                    h = self.ln(t, b.ln2_w, b.ln2_b, C)
                    h = F.gelu(self.linear(h, b.mlp1, hid, C))
                    t = t + self.linear(h, b.mlp2, C, hid)
                x = t.transpose(1, 2).reshape(B, C, H, Wd)
            elif m.kind == "mbpool":
                mid = c * sc["expand"]
                x = self.conv(x, m.expand.weight[:mid, :c])
                x = F.hardswish(self.bn(x, m.bn_w, m.bn_b, mid))
                x = x.mean((2, 3))
                x = F.hardswish(self.linear(x, m.fc1, w, mid))
                if dropout > 0:
                    x = F.dropout(x, dropout, True)
                x = self.linear(x, m.fc2, self.classes, w)
        return x

    def cost(self, cfg):
        """(params, MACs per image) of a subnet, from the slices that its
        forward pass uses (at batch 2, as batch norm needs 2 values; the
        counts do not depend on the batch)."""
        self.count = {"params": 0, "macs": 0}
        try:
            with torch.no_grad():
                s = self.space
                self(torch.zeros(2, s["in_channels"], 28, 28), cfg)
        finally:
            cnt, self.count = self.count, None
        return cnt["params"], cnt["macs"]


# -- optimizer and the training step -------------------------------------
def set_phase(model, frozen):
    """Phase 1: everything trains.  Phase 2 (frozen): only the vit stages
    and every BN gamma/beta.  Returns the AdamW optimizer."""
    vit_ids = {id(p) for m in model.stages if m.kind == "vit"
               for p in m.parameters()}
    decay_ids = set()
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            decay_ids.add(id(mod.weight))
    decay, rest = [], []
    for name, p in model.named_parameters():
        bn = name.split(".")[-1].startswith("bn")
        train = not frozen or id(p) in vit_ids or bn
        p.requires_grad_(train)
        p.grad = None
        if train:
            (decay if id(p) in decay_ids else rest).append(p)
    groups = [{"params": decay, "weight_decay": 0.05},
              {"params": rest, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=2e-3)
    return opt, decay + rest


def soft_ce(student, teacher):
    return torch.sum(-F.softmax(teacher, 1) * F.log_softmax(student, 1),
                     1).mean()


def sandwich_step(model, opt, params, x, y, rng, n_random=2):
    opt.zero_grad(set_to_none=True)
    out = model(x, model.subnet("max"), dropout=0.2, drop_connect=0.2)
    F.cross_entropy(out, y, label_smoothing=0.1).backward()
    teacher = out.detach()
    for which in ["min"] + ["random"] * n_random:
        out = model(x, model.subnet(which, rng))
        soft_ce(out, teacher).backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


def time_steps(model, frozen, x, y, args):
    opt, params = set_phase(model, frozen)
    rng = random.Random(args.seed)
    for i in range(args.warmup + args.steps):
        if i == args.warmup:
            t0 = time.perf_counter()
        sandwich_step(model, opt, params, x, y, rng)
    return args.batch * args.steps / (time.perf_counter() - t0)


def describe(cfg):
    return "res %d " % cfg["res"] + " ".join(
        "/".join(str(v) for v in sc.values()) for sc in cfg["stages"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--space", default=DEFAULT_SPACE)
    args = ap.parse_args()
    if not (args.bench or args.check):
        ap.error("give --bench or --check")
    if args.steps < 1 or args.warmup < 0 or args.batch < 2:
        ap.error("need --steps >= 1, --warmup >= 0, --batch >= 2")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.space) as f:
        space = json.load(f)
    model = Supernet(space)
    cmax, cmin = model.subnet("max"), model.subnet("min")
    pmax, mmax = model.cost(cmax)
    if args.check:
        pmin, mmin = model.cost(cmin)
        print("space %s torch %s" % (space.get("name", args.space),
                                     torch.__version__))
        print("supernet_params %d" % sum(p.numel()
                                         for p in model.parameters()))
        print("min_subnet %s" % describe(cmin))
        print("min_params %d" % pmin)
        print("min_macs %d" % mmin)
        print("max_subnet %s" % describe(cmax))
        print("max_params %d" % pmax)
        print("max_macs %d" % mmax)
    if args.bench:
        g = torch.Generator().manual_seed(args.seed)
        x = torch.randn(args.batch, space["in_channels"], 28, 28,
                        generator=g)
        y = torch.randint(0, space["classes"], (args.batch,), generator=g)
        print("sandwich_img_s %.1f" % time_steps(model, False, x, y, args),
              flush=True)
        print("frozen_img_s %.1f" % time_steps(model, True, x, y, args),
              flush=True)
        print("max_params %d" % pmax)
        print("max_macs %d" % mmax)


if __name__ == "__main__":
    main()
