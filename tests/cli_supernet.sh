#!/bin/sh
# cli_supernet.sh - `h4h supernet train|eval|extract` and `h4h reproduce
# table2 --budget smoke` end to end on a small synthetic Fashion-MNIST (IDX
# files made here): a short run writes a checkpoint, a CSV and database
# rows; eval prints JSON; extract writes an architecture `h4h sim --arch`
# costs and a checkpoint `h4h eval` scores to the accuracy `supernet eval`
# reports; SIGINT writes the checkpoint and exits 130, --resume continues;
# bad input gets one line and exit 2.  Needs $H4H_BIN, $H4H_SRCDIR, python3.
CLI_NAME=cli_supernet
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

SPACE="$SRC/spaces/h4h-fmnist.json"

if ! command -v python3 >/dev/null 2>&1; then
	echo "cli_supernet: python3 missing, skipped"
	exit 77
fi
python3 "${H4H_SRCDIR:-.}/tests/make_fmnist.py" "$TMP" 800 200 2

T="--space $SPACE --data $TMP --batch 16 --val 100 --recal-images 64 --recal-batch 32 --threads 1"
# shellcheck disable=SC2086
"$H4H" supernet train $T --recipe vanilla --epochs 1 --out "$TMP/v.ckpt" \
    --csv "$TMP/v.csv" --db "$TMP/t.db" >"$TMP/v.out" 2>"$TMP/v.err"
check "train exits 0" '[ $? -eq 0 ]'
check "one epoch line with max and min validation accuracy" \
    'grep -q "^phase 1 epoch 1 loss .* max_val_acc 0\.[0-9]* min_val_acc 0\.[0-9]*" "$TMP/v.out"'
check "checkpoint written" '[ -s "$TMP/v.ckpt" ]'
check "CSV: header and one row" \
    '[ "$(wc -l <"$TMP/v.csv")" -eq 2 ] && head -1 "$TMP/v.csv" | grep -q "^recipe,phase,epoch,step,train_loss"'
"$H4H" db query --db "$TMP/t.db" "SELECT r.recipe, e.phase, e.epoch FROM train_epochs e JOIN train_runs r ON r.id = e.run_id" \
    >"$TMP/q.out" 2>&1
check "database: the epoch row" 'grep -q "vanilla" "$TMP/q.out" && grep -q "1" "$TMP/q.out"'

# eval: JSON with accuracy, macs and the gene
"$H4H" supernet eval --ckpt "$TMP/v.ckpt" --subnet max --data "$TMP" \
    --threads 1 --json >"$TMP/e.json" 2>"$TMP/e.err"
check "eval --json exits 0" '[ $? -eq 0 ]'
check "eval --json: accuracy, macs, gene" \
    'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert 0 <= d[\"accuracy\"] <= 1 and d[\"macs\"] > 0 and d[\"gene\"][\"space\"] == \"h4h-fmnist\"" "$TMP/e.json"'
"$H4H" supernet eval --ckpt "$TMP/v.ckpt" --subnet random:3 --data "$TMP" \
    --threads 1 >"$TMP/r.out" 2>&1
check "eval random:3 prints 3 subnets" '[ "$(grep -c "^subnet h4h-fmnist:" "$TMP/r.out")" -eq 3 ]'

# extract: a gene file, the architecture and the standalone checkpoint
python3 -c "import json,sys; json.dump(json.load(open(sys.argv[1]))['gene'], open(sys.argv[2], 'w'))" \
    "$TMP/e.json" "$TMP/gene.json"
"$H4H" supernet extract --ckpt "$TMP/v.ckpt" --subnet "$TMP/gene.json" \
    --arch-out "$TMP/a.json" --ckpt-out "$TMP/x.ckpt" --data "$TMP" \
    --threads 1 >/dev/null 2>"$TMP/x.err"
check "extract exits 0" '[ $? -eq 0 ]'
"$H4H" sim --system "$SRC/hwprofiles/system-npu-8cim.ini" --arch "$TMP/a.json" \
    >"$TMP/s.out" 2>&1
check "h4h sim --arch costs the extracted architecture (224+ px, 1000 classes)" \
    'grep -q "^latency .* ms" "$TMP/s.out" && grep -q ">1x1x1000" "$TMP/s.out"'
"$H4H" eval --ckpt "$TMP/x.ckpt" --data "$TMP" --threads 1 >"$TMP/xe.out" 2>&1
check "h4h eval scores the standalone checkpoint" 'grep -q "^model h4h-subnet .* test_acc 0\.[0-9]*" "$TMP/xe.out"'
"$H4H" supernet eval --ckpt "$TMP/v.ckpt" --subnet "$TMP/gene.json" \
    --split test --data "$TMP" --threads 1 >"$TMP/st.out" 2>&1
a=$(sed -n 's/.* test_acc \([0-9.]*\).*/\1/p' "$TMP/xe.out")
b=$(sed -n 's/.* test_acc \([0-9.]*\) .*/\1/p' "$TMP/st.out")
check "standalone accuracy equals the supernet's ($a vs $b)" '[ -n "$a" ] && [ "$a" = "$b" ]'

# SIGINT: checkpoint, exit 130, resumable
# shellcheck disable=SC2086
"$H4H" supernet train $T --recipe cnn --steps 100000 --out "$TMP/i.ckpt" \
    >/dev/null 2>"$TMP/i.err" &
pid=$!
sleep 4
kill -INT "$pid"
wait "$pid"
rc=$?
check "SIGINT exits 130" '[ "$rc" -eq 130 ]'
check "SIGINT checkpoint written" '[ -s "$TMP/i.ckpt" ] && grep -q "interrupted; checkpoint written" "$TMP/i.err"'
# shellcheck disable=SC2086
"$H4H" supernet train $T --recipe vanilla --steps 100000 --out "$TMP/j.ckpt" \
    --resume "$TMP/i.ckpt" >/dev/null 2>"$TMP/j.err"
check "resume with another recipe: exit 2, one line" \
    '[ $? -eq 2 ] && [ "$(wc -l <"$TMP/j.err")" -eq 1 ] && grep -q "made by recipe .cnn., not .vanilla." "$TMP/j.err"'

# Table 2, smoke budget: the whole pipeline writes its table
"$H4H" reproduce table2 --out "$TMP/t2" --budget smoke --space "$SPACE" \
    --data "$TMP" --threads 1 --jobs 2 --results "$TMP/results.md" >/dev/null 2>"$TMP/t2.err"
check "reproduce table2 --budget smoke exits 0" '[ $? -eq 0 ]'
check "table2.md has the four rows beside the paper's" \
    '[ "$(grep -c "^| \(CNN-only\|Hybrid\)" "$TMP/t2/table2.md")" -eq 4 ] && grep -q "79.914" "$TMP/t2/table2.md"'
check "table2.csv has 4 rows" '[ "$(wc -l <"$TMP/t2/table2.csv")" -eq 5 ]'
check "results file holds the marked section" 'grep -q "table2 smoke:begin" "$TMP/results.md" && grep -q "Does the paper" "$TMP/results.md"'
"$H4H" reproduce table2 --out "$TMP/t2" --budget smoke --space "$SPACE" \
    --data "$TMP" --threads 1 >/dev/null 2>"$TMP/t3.err"
check "a rerun reuses every finished run" '! grep -q "training" "$TMP/t3.err"'

# Bad input: one line, exit 2
sed 's/"min": 4,   "max": 8,   "step": 2}, "stride": 2/"min": 0, "max": 8, "step": 2}, "stride": 2/' \
    "$SPACE" >"$TMP/badspace.json"
cp "$SRC/spaces/h4h-imagenet.json" "$TMP/"
"$H4H" supernet train --space "$TMP/badspace.json" --recipe cnn --steps 1 \
    --out "$TMP/b.ckpt" --data "$TMP" >/dev/null 2>"$TMP/b.err"
check "a width out of range: exit 2, one line naming stage and value" \
    '[ $? -eq 2 ] && [ "$(wc -l <"$TMP/b.err")" -eq 1 ] && grep -q "stages\[0\] (Conv-0): width 0 is out of range" "$TMP/b.err"'
check "nothing written for bad input" '[ ! -e "$TMP/b.ckpt" ]'
sed 's/"resolution": *[0-9]*/"resolution": 27/' "$TMP/gene.json" >"$TMP/badgene.json"
"$H4H" supernet eval --ckpt "$TMP/v.ckpt" --subnet "$TMP/badgene.json" \
    --data "$TMP" >/dev/null 2>"$TMP/g.err"
check "a gene that does not fit: exit 2, one line" \
    '[ $? -eq 2 ] && [ "$(wc -l <"$TMP/g.err")" -eq 1 ] && grep -q "badgene.json.*resolution" "$TMP/g.err"'
"$H4H" supernet eval --ckpt "$TMP/x.ckpt" --subnet max --data "$TMP" \
    >/dev/null 2>"$TMP/k.err"
check "a subnet checkpoint is not a supernet: exit 2" \
    '[ $? -eq 2 ] && grep -q "not a supernet checkpoint" "$TMP/k.err"'
"$H4H" supernet train --space "$SPACE" --recipe cnn --steps 1 \
    --out "$TMP/d.ckpt" --data "$TMP/nowhere" >/dev/null 2>"$TMP/d.err"
check "missing dataset: exit 2, one line naming it" \
    '[ $? -eq 2 ] && [ "$(wc -l <"$TMP/d.err")" -eq 1 ] && grep -q "nowhere" "$TMP/d.err"'
"$H4H" supernet train --space "$SPACE" --recipe bogus --steps 1 --out "$TMP/z.ckpt" \
    >/dev/null 2>"$TMP/z.err"
check "unknown recipe: exit 2" '[ $? -eq 2 ] && grep -q "bogus" "$TMP/z.err"'

cli_done
