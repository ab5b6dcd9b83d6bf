#!/usr/bin/env python3
"""mkseeds.py DIR - the generated inputs of the fuzz targets (fuzz.h):
DIR/<target>/<name> for the formats no shipped file covers (checkpoints,
IDX files, database rows, genes) and hostile cases of every format: the
findings of issue 12 and the edges each parser must refuse in one line.
`make fuzz` adds them to the seed corpora; tests/fuzz/regress/ holds the
ones make check replays (made by this script, then committed)."""
import gzip
import json
import os
import struct
import sys
import zlib

OUT = sys.argv[1]
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- checkpoints (doc/nn-data.md, version 1) --------------------------------
def ckpt(tensors, epoch=0, step=0, meta=b"{}", fix=None):
    """tensors: (name, dtype, dims, bytes); fix(buf) may damage the table
    before the CRC is computed, so that only the checks past it refuse."""
    table = b""
    for name, dtype, dims, data in tensors:
        table += struct.pack("<I", len(name)) + name
        table += struct.pack("<II", dtype, len(dims))
        table += b"".join(struct.pack("<q", x) for x in dims)
        table += b"\0" * 16                 # offset, count: filled below
    head = 40 + len(meta)
    pos = (head + len(table) + 7) // 8 * 8
    payload, offs = b"", []
    for _, _, _, data in tensors:
        offs.append(pos + len(payload))
        payload += data + b"\0" * ((8 - len(data) % 8) % 8)
    size = pos + len(payload) + 4
    b = bytearray(b"H4HC" + struct.pack("<IQqqII", 1, size, epoch, step,
                                        len(tensors), len(meta)) + meta)
    t = bytearray(table)
    p = 0
    for i, (name, dtype, dims, data) in enumerate(tensors):
        p += 4 + len(name) + 8 + 8 * len(dims)
        struct.pack_into("<QQ", t, p, offs[i], len(data))
        p += 16
    b += t
    b += b"\0" * (pos - len(b))
    b += payload
    if fix:
        fix(b)
    b += struct.pack("<I", zlib.crc32(bytes(b)) & 0xffffffff)
    return bytes(b)


STEP = (b"step", 3, [], struct.pack("<q", 7))
W = (b"param.w", 1, [2, 3], struct.pack("<6f", *range(6)))
put("ckpt", "valid", ckpt([STEP, W], 1, 7, b'{"model": "x"}'))
put("ckpt", "step-minus-2-31-1", ckpt([STEP, W], 0, -2**31 - 1))
put("ckpt", "epoch-huge", ckpt([STEP, W], 2**62, 7))
put("ckpt", "dims-overflow", ckpt([(b"w", 1, [2**62, 2**62], b"")]))
put("ckpt", "ndim-9", ckpt([(b"w", 1, [1] * 9, b"\0" * 4)]))
put("ckpt", "name-empty", ckpt([(b"", 1, [1], b"\0" * 4)]))
put("ckpt", "name-300", ckpt([(b"n" * 300, 1, [1], b"\0" * 4)]))
put("ckpt", "dtype-9", ckpt([(b"w", 9, [1], b"\0" * 4)]))


def far_offset(b):
    struct.pack_into("<Q", b, len(b) - 16 - 8 - 16, 2**63)


put("ckpt", "offset-far", ckpt([W], fix=lambda b: struct.pack_into(
    "<Q", b, 40 + 2 + 4 + 7 + 8 + 16, 2**63)))
put("ckpt", "count-huge", ckpt([W], fix=lambda b: struct.pack_into(
    "<I", b, 32, 0xffffffff)))
put("ckpt", "meta-huge", ckpt([W], meta=b"{}", fix=lambda b: struct.pack_into(
    "<I", b, 36, 0xfffffff0)))
put("ckpt", "empty", b"")
put("ckpt", "magic-only", b"H4HC")

# ---- IDX (byte 0: 0 images, 1 labels; then the file) -----------------------
img = struct.pack(">IIII", 0x803, 2, 4, 4) + bytes(range(32))
lab = struct.pack(">II", 0x801, 2) + b"\x01\x09"
put("idx", "images", b"\0" + img)
put("idx", "images-gz", b"\0" + gzip.compress(img, mtime=0))
put("idx", "labels", b"\1" + lab)
put("idx", "labels-gz", b"\1" + gzip.compress(lab, mtime=0))
put("idx", "images-overflow", b"\0" + struct.pack(">IIII", 0x803, 2**31 - 1,
                                                   65536, 65536))
put("idx", "images-truncated", b"\0" + img[:20])
put("idx", "labels-negative", b"\1" + struct.pack(">II", 0x801, 2**31 + 5))
put("idx", "gz-truncated", b"\0" + gzip.compress(img, mtime=0)[:-9])
put("idx", "gz-garbage", b"\0\x1f\x8b\x08\0" + b"\xff" * 40)

# ---- database rows (fuzz_dbblob.c: byte 0 row/table/preload) ---------------
def cand(npu, cim, macros, w=100.0, mx=50.0, lat=1e-5, en=1e-7, noc=10.0):
    return struct.pack("<iii5d", npu, cim, macros, w, mx, lat, en, noc)


def cands_row(row, n, blob, preload=False):
    return bytes([row | (0x40 if preload else 0)]) + struct.pack("<i", n) + blob


put("dbblob", "pristine", b"\x1f")
# Row 2 is c2 (1x1 conv to 48 channels), which the macros can take.
put("dbblob", "macros-9999", cands_row(2, 2, cand(48, 0, 0) + cand(24, 24, 9999)))
put("dbblob", "macros-9999-preload",
    cands_row(2, 2, cand(48, 0, 0) + cand(24, 24, 9999), True))
put("dbblob", "macros-plausible", cands_row(2, 2, cand(48, 0, 0) +
                                            cand(24, 24, 2)))
put("dbblob", "macros-negative", cands_row(1, 1, cand(0, 32, -3)))
put("dbblob", "n-wraps-int", cands_row(2, 2**30 + 2, cand(8, 24, 2) * 2))
put("dbblob", "n-wraps-int-preload", cands_row(2, 2**30 + 2, cand(8, 24, 2) * 2,
                                               True))
put("dbblob", "n-zero", cands_row(0, 0, b""))
put("dbblob", "n-negative", cands_row(0, -5, cand(32, 0, 0)))
put("dbblob", "split-too-wide", cands_row(0, 1, cand(30000, -29968, 1)))
put("dbblob", "nan-estimate", cands_row(0, 1, cand(32, 0, 0, lat=float("nan"))))
put("dbblob", "too-many", cands_row(0, 800, cand(32, 0, 0) * 800))
put("dbblob", "cost-negative", b"\x80" + struct.pack("<2d", 5.0, -1.0))
put("dbblob", "cost-nan", b"\x81" + struct.pack("<2d", float("nan"), 1e-5))
put("dbblob", "cost-inf-preload", b"\xc2" + struct.pack("<d", float("inf")))
put("dbblob", "cost-macs-negative", b"\x83" + struct.pack("<9dq", *([1.0] * 9),
                                                           -7))

# ---- genes --------------------------------------------------------------------
space = json.load(open(os.path.join(SRC, "spaces", "h4h-fmnist.json")))


def choices(c):
    if isinstance(c, dict):
        return list(range(c["min"], c["max"] + 1, c["step"]))
    return c


def gene(pick):
    st = []
    for s in space["stages"]:
        g = {"name": s["name"]}
        for k in ("width", "depth", "expand", "mlp_ratio"):
            if k in s:
                g[k] = pick(choices(s[k]))
        st.append(g)
    return {"space": space["name"], "resolution": pick(space["resolution"]),
            "stages": st}


put("gene", "min", json.dumps(gene(lambda c: c[0])))
put("gene", "max", json.dumps(gene(lambda c: c[-1])))
g = gene(lambda c: c[0])
g["stages"][0]["width"] = 7
put("gene", "not-a-choice", json.dumps(g))
g = gene(lambda c: c[0])
g["stages"] = g["stages"][:3]
put("gene", "short", json.dumps(g))
g = gene(lambda c: c[0])
g["stages"][2]["depth"] = 1e300
put("gene", "huge", json.dumps(g))
g = gene(lambda c: c[0])
g["stages"][1]["na\u0001me"] = 1
put("gene", "control-key", json.dumps(g))
put("gene", "not-an-object", "[1, 2, 3]")

# ---- hostile text inputs of the other formats -------------------------------
put("csv", "fields-5000", ",".join("c%d" % i for i in range(5000)) + "\n" +
    ",".join("1" for _ in range(5000)) + "\n")
put("csv", "unterminated", 'op,in_h\n"conv,3\n')
put("csv", "quotes", 'op,in_h,in_w,in_c,out_c,kernel,stride,measured_cycles\n'
    '"co""nv",8,8,8,8,1,1,100\n"conv",8,8,8,8,1,1,"1e400"\n')
put("csv", "control", 'op,in\x01h\nconv,\x02\n')
put("csv", "dup-columns", "op,op,op\n")
put("net", "control-key", '{"name":"x","input":[8,8,3],"layers":[{"name":"a",'
    '"op":"conv","k\\u0001e\\ny":3}]}')
put("net", "deep", "[" * 5000 + "]" * 5000)
put("net", "huge-dims", '{"name":"x","input":[2147483647,2147483647,'
    '2147483647],"layers":[{"name":"a","op":"conv","kernel":3,"out":'
    '2147483647}]}')
put("net", "huge-kernel", '{"name":"x","input":[8,8,3],"layers":[{"name":"a",'
    '"op":"conv","kernel":2147483647,"stride":2147483647,"out":4}]}')
put("arch", "huge", '{"name":"x","resolution":2147483647,"in_channels":'
    '2147483647,"classes":2147483647,"stages":[{"block":"conv","width":'
    '2147483647,"stride":2}]}')
put("arch", "deep-stages", '{"name":"x","resolution":16,"in_channels":3,'
    '"classes":10,"stages":[' + ",".join(['{"block":"mbconv","width":8,'
                                          '"depth":1000,"expand":6,"stride":1}'] * 64) + "]}")
put("space", "step-zero", '{"name":"s","full_scale":"s","in_channels":1,'
    '"classes":10,"resolution":[8],"stages":[{"name":"a","block":"conv",'
    '"width":{"min":4,"max":8,"step":0},"stride":1}]}')
put("space", "range-huge", '{"name":"s","full_scale":"s","in_channels":1,'
    '"classes":10,"resolution":[8],"stages":[{"name":"a","block":"conv",'
    '"width":{"min":1,"max":2000000000,"step":1},"stride":1}]}')
put("space", "control-name", '{"name":"s\\u0007","full_scale":"s"}')
put("profile", "long-line", "[npu]\nmacs = " + "9" * 20000 + "\n")
put("profile", "control", "[n\x01pu]\nma\x02cs = 256\n")
put("profile", "huge-values", "[cim]\nmacros = 2147483647\ncapacity_mbit = "
    "1e308\n[noc]\nbandwidth_gbps = 1e-308\n")
put("profile", "include-missing", "include = /nonexistent/x.ini\n")
put("profile", "no-bracket", "[npu\nmacs = 3\n")
