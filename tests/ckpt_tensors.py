#!/usr/bin/env python3
"""ckpt_tensors.py CKPT [SKIP...] - one line per tensor of an h4h checkpoint
(doc/nn-data.md, version 1): name, dtype, dims and the SHA-256 of its bytes,
sorted by name, leaving out the tensors named in SKIP (timings, logs).  Two
runs trained the same way print the same lines (tests/cli_crash.sh)."""
import hashlib
import struct
import sys


def main():
    path, skip = sys.argv[1], set(sys.argv[2:])
    b = open(path, "rb").read()
    if b[:4] != b"H4HC" or struct.unpack_from("<I", b, 4)[0] != 1:
        sys.exit("%s: not a version 1 h4h checkpoint" % path)
    epoch, step, n, meta_len = struct.unpack_from("<qqII", b, 16)
    p = 40 + meta_len
    out = ["header epoch %d step %d" % (epoch, step)]
    for _ in range(n):
        (ln,) = struct.unpack_from("<I", b, p)
        name = b[p + 4:p + 4 + ln].decode()
        p += 4 + ln
        dtype, ndim = struct.unpack_from("<II", b, p)
        p += 8
        dims = struct.unpack_from("<%dq" % ndim, b, p)
        p += 8 * ndim
        off, nb = struct.unpack_from("<QQ", b, p)
        p += 16
        if name in skip:
            continue
        h = hashlib.sha256(b[off:off + nb]).hexdigest()
        out.append("%s %d %s %s" % (name, dtype,
                                    "x".join(map(str, dims)), h))
    print("\n".join([out[0]] + sorted(out[1:])))


main()
