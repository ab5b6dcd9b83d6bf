#!/usr/bin/env python3
"""make_fmnist.py DIR NTRAIN NTEST SEED - a small synthetic Fashion-MNIST
for the CLI tests: gzip IDX files in Debian's names, 28x28 noise images
with a bright bar whose row encodes the label (i % 10), so a model can
learn it in a few steps."""
import gzip
import random
import struct
import sys

d, ntrain, ntest, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4])
random.seed(seed)
for which, n in (("train", ntrain), ("t10k", ntest)):
    imgs = bytearray()
    for i in range(n):
        img = bytearray(random.randrange(60) for _ in range(784))
        row = 2 + 2 * (i % 10)
        for c in range(4, 24):
            img[row * 28 + c] = 250
        imgs += img
    with gzip.open("%s/%s-images-idx3-ubyte.gz" % (d, which), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + imgs)
    with gzip.open("%s/%s-labels-idx1-ubyte.gz" % (d, which), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))
