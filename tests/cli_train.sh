#!/bin/sh
# cli_train.sh - `h4h train` and `h4h eval` end to end on a small synthetic
# Fashion-MNIST (IDX files made here): a short run writes a checkpoint that
# eval reads; SIGINT writes the checkpoint and exits 130, and --resume
# continues it; corrupt or missing checkpoints and bad options get one line
# and exit 2.  Needs $H4H_BIN; python3 (to write the gzip IDX files).
CLI_NAME=cli_train
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

if ! command -v python3 >/dev/null 2>&1; then
	echo "cli_train: python3 missing, skipped"
	exit 77
fi
python3 "${H4H_SRCDIR:-.}/tests/make_fmnist.py" "$TMP" 700 200 1

T="--data $TMP --model ref-cnn --batch 32 --val 64 --no-aug --threads 1"
# shellcheck disable=SC2086
"$H4H" train $T --steps 30 --out "$TMP/a.ckpt" >"$TMP/a.out" 2>"$TMP/a.err"
check "train exits 0" '[ $? -eq 0 ]'
check "one epoch line on stdout" 'grep -q "^epoch 1 train_loss .* val_acc " "$TMP/a.out"'
check "progress on stderr" 'grep -q "img/s" "$TMP/a.err"'
check "checkpoint written" '[ -s "$TMP/a.ckpt" ]'
"$H4H" eval --ckpt "$TMP/a.ckpt" --data "$TMP" --threads 1 >"$TMP/e.out" 2>&1
check "eval exits 0" '[ $? -eq 0 ]'
check "eval prints the test accuracy" 'grep -q "^model ref-cnn test_acc 0\.[0-9]*" "$TMP/e.out"'

# SIGINT: checkpoint written, exit 130, resumable.
# shellcheck disable=SC2086
"$H4H" train $T --steps 100000 --out "$TMP/i.ckpt" >/dev/null 2>"$TMP/i.err" &
pid=$!
sleep 3
kill -INT "$pid"
wait "$pid"
rc=$?
check "SIGINT exits 130" '[ "$rc" -eq 130 ]'
check "SIGINT says where the checkpoint is" 'grep -q "interrupted; checkpoint written to" "$TMP/i.err"'
check "SIGINT checkpoint is readable" \
    '"$H4H" eval --ckpt "$TMP/i.ckpt" --data "$TMP" --threads 1 >/dev/null 2>&1'

# Bad input: one line, exit 2, nothing written.
printf 'H4HC garbage' >"$TMP/bad.ckpt"
"$H4H" eval --ckpt "$TMP/bad.ckpt" --data "$TMP" >"$TMP/b.out" 2>"$TMP/b.err"
check "corrupt checkpoint: exit 2" '[ $? -eq 2 ]'
check "corrupt checkpoint: one line naming it" \
    '[ "$(wc -l <"$TMP/b.err")" -eq 1 ] && grep -q "bad.ckpt" "$TMP/b.err"'
"$H4H" eval --ckpt "$TMP/none.ckpt" >/dev/null 2>"$TMP/n.err"
check "missing checkpoint: exit 2" '[ $? -eq 2 ]'
# shellcheck disable=SC2086
"$H4H" train $T --steps 5 --resume "$TMP/a.ckpt" --lr 0.1 >/dev/null \
    2>"$TMP/r.err"
check "resume with another recipe: exit 2" '[ $? -eq 2 ]'
"$H4H" train --model ref-vit --steps 1 --data "$TMP" >/dev/null 2>"$TMP/m.err"
check "unknown model: exit 2, named" '[ $? -eq 2 ] && grep -q "ref-vit" "$TMP/m.err"'
"$H4H" train --model ref-cnn --steps 1 --data "$TMP/nowhere" >/dev/null \
    2>"$TMP/d.err"
check "missing data: exit 2, one line naming the file" \
    '[ $? -eq 2 ] && [ "$(wc -l <"$TMP/d.err")" -eq 1 ] && grep -q "nowhere" "$TMP/d.err"'
"$H4H" train --model ref-cnn --batch 0 --steps 1 >/dev/null 2>"$TMP/o.err"
check "bad option value: exit 2" '[ $? -eq 2 ]'

cli_done
