#!/bin/sh
# cli_onnx.sh - `h4h sim --onnx` and `h4h sweep --onnx` on the torchvision
# fixtures of nets/onnx/, and the one-line errors for a truncated file, a
# non-ONNX file, a model given twice and a layer beyond the U55's limits.  Needs $H4H_BIN and $H4H_SRCDIR.
CLI_NAME=cli_onnx
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

SYS8=$SRC/hwprofiles/system-npu-8cim.ini
R18=$SRC/nets/onnx/resnet18.onnx

# ---- sim --onnx ----------------------------------------------------------------
"$H4H" sim --system "$SYS8" --onnx "$R18" >"$TMP/r.out" 2>"$TMP/r.err"
check "sim --onnx exits 0" '[ $? -eq 0 ]'
check "the net is named after the file" \
    'head -1 "$TMP/r.out" | grep -q "^net resnet18 on npu-8cim"'
# PyTorch's conv + linear count is 1814.07 M; the pools add 1.84 M.
check "1815.9 MMAC" 'grep -q "1815.9 MMAC" "$TMP/r.out"'
check "layers are named after the nodes" \
    'grep -q "^layer1.0/conv1/Conv " "$TMP/r.out"'
"$H4H" sim --system "$SYS8" --onnx "$SRC/nets/onnx/vit_b_16.onnx" --json \
    >"$TMP/v.json" 2>"$TMP/v.err"
check "the ViT runs" '[ $? -eq 0 ]'
check "the ViT has 12 softmax layers" \
    '[ "$(grep -c "\"op\": \"softmax\"" "$TMP/v.json")" -eq 12 ]'

# ---- sweep --onnx ----------------------------------------------------------------
"$H4H" sweep --system "$SYS8" --onnx "$R18" --vary cim.macros=2,4 \
    --db "$TMP/c.db" --quiet >"$TMP/s.out" 2>"$TMP/s.err"
check "sweep --onnx exits 0" '[ $? -eq 0 ]'
check "sweep --onnx lists 2 points of resnet18" \
    '[ "$(grep -c "net=resnet18" "$TMP/s.out")" -eq 2 ]'

# ---- errors: one line, exit 2 -------------------------------------------------------
head -c 5000 "$R18" >"$TMP/cut.onnx"
"$H4H" sim --system "$SYS8" --onnx "$TMP/cut.onnx" >/dev/null 2>"$TMP/e1"
check "a truncated file exits 2" '[ $? -eq 2 ]'
check "a truncated file is one line naming it" \
    '[ "$(wc -l <"$TMP/e1")" -eq 1 ] && grep -q "cut.onnx.*not an ONNX model" "$TMP/e1"'
"$H4H" sim --system "$SYS8" --onnx "$SRC/nets/mobilenet_v2.json" \
    >/dev/null 2>"$TMP/e2"
check "a JSON file given as --onnx exits 2" '[ $? -eq 2 ]'
check "... with one line" '[ "$(wc -l <"$TMP/e2")" -eq 1 ]'
"$H4H" sim --system "$SYS8" --onnx "$R18" --net "$SRC/nets/mobilenet_v2.json" \
    >/dev/null 2>"$TMP/e3"
check "--onnx with --net exits 2" '[ $? -eq 2 ]'
check "... and says so" 'grep -q "exactly one of --net, --arch and --onnx" "$TMP/e3"'
"$H4H" sim --system "$SYS8" --onnx "$TMP/missing.onnx" >/dev/null 2>"$TMP/e4"
check "a missing file exits 2" '[ $? -eq 2 ]'
# A layer beyond the U55's limits (70,000 channels): the file and the
# layer (named after its node) in one line, exit 2.
"$H4H" sim --system "$SYS8" --onnx \
    "$SRC/tests/fuzz/regress/onnx/u55-channels-70000" >/dev/null 2>"$TMP/e5"
check "a U55 limit exits 2" '[ $? -eq 2 ]'
check "... with one line naming the file and the node" \
    '[ "$(wc -l <"$TMP/e5")" -eq 1 ] && grep -q "u55-channels-70000.: layer .wide/Conv.: u55: ifm_c must be in 1..65536 (got 70000)" "$TMP/e5"'

cli_done
