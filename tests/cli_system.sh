#!/bin/sh
# cli_system.sh - `h4h system`: every key with its value and origin
# (default, file and line, --set), as text and JSON, and its errors; and
# the provenance every output carries: h4h's version, the model revision
# and this system hash, in sim's JSON, CSV and trace and in sweep exports.
# Needs $H4H_BIN and $H4H_SRCDIR.
CLI_NAME=cli_system
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

cat >"$TMP/my.ini" <<EOI
; a design point
[system]
name = my-system
include = $SRC/hwprofiles/system-npu-8cim.ini

[cim]
macros = 2
EOI
"$H4H" system "$TMP/my.ini" --set noc.bandwidth_gbps=8 >"$TMP/s.out" 2>"$TMP/s.err"
check "system exits 0" '[ $? -eq 0 ]'
check "first line names the system" 'head -1 "$TMP/s.out" | grep -q "^system my-system from "'
check "cim.macros comes from my.ini line 7" \
    'grep -E "^cim.macros +2 .*my.ini line 7$" "$TMP/s.out" >/dev/null'
check "cim.clock_mhz comes from the included cim file" \
    'grep -E "^cim.clock_mhz +200 .*cim/mram-10mb.ini line [0-9]+$" "$TMP/s.out" >/dev/null'
check "noc.bandwidth_gbps comes from --set" \
    'grep -E "^noc.bandwidth_gbps +8 .*--set noc.bandwidth_gbps=8$" "$TMP/s.out" >/dev/null'
check "a key no file sets is a default" \
    'grep -E "^npu.cycle_scale_conv +1 .* default$" "$TMP/s.out" >/dev/null'
check "every key is listed" \
    '[ "$(grep -c "^[a-z]*\.[a-z_0-9]* " "$TMP/s.out")" -eq "$("$H4H" sim --list-keys | grep -c "^[a-z]*\.[a-z_0-9]* ")" ]'
"$H4H" system "$TMP/my.ini" --json >"$TMP/s.json"
check "--json exits 0" '[ $? -eq 0 ]'
check "--json has the origins" 'grep -q "\"origin\": \"default\"" "$TMP/s.json"'
# The hash is the cost database's system hash.
"$H4H" sim --system "$TMP/my.ini" --net "$SRC/nets/hybrid_example.json" \
    --db "$TMP/c.db" >/dev/null 2>&1
h=$(sed -n 's/.*(hash \([0-9a-f]*\)).*/\1/p' "$TMP/s.out")
"$H4H" system "$TMP/my.ini" >"$TMP/s2.out"
h2=$(sed -n 's/.*(hash \([0-9a-f]*\)).*/\1/p' "$TMP/s2.out")
check "the hash is the database's" \
    '"$H4H" db export --db "$TMP/c.db" table:systems | grep -q "$h2"'
check "--set changes the hash" '[ "$h" != "$h2" ]'

# ---- provenance ----------------------------------------------------------------
"$H4H" sim --system "$TMP/my.ini" --net "$SRC/nets/hybrid_example.json" --json \
    --csv "$TMP/p.csv" --trace "$TMP/p.trace.json" >"$TMP/p.json" 2>/dev/null
check "JSON carries the system hash" 'grep -q "\"system_hash\": \"$h2\"" "$TMP/p.json"'
check "JSON carries the model revision" 'grep -q "\"model_revision\": [0-9]" "$TMP/p.json"'
check "JSON carries h4h's version" \
    'grep -q "\"h4h_version\": \"$("$H4H" --version | cut -d" " -f2)\"" "$TMP/p.json"'
check "CSV rows end with version, revision, hash" \
    'head -1 "$TMP/p.csv" | grep -q ",h4h_version,model_revision,system_hash$" && sed -n 2p "$TMP/p.csv" | grep -q ",[0-9]*,$h2$"'
check "the trace's process is named after the system" \
    'grep -q "\"process_name\",\"args\":{\"name\":\"h4h sim: my-system\"}" "$TMP/p.trace.json"'
check "the trace records the system hash" 'grep -q "\"system_hash\":\"$h2\"" "$TMP/p.trace.json"'
check "layer spans carry op, split and energy" \
    'grep -q "\"args\":{\"op\":\"conv\",\"split\":\"[^\"]*\",\"energy_j\":" "$TMP/p.trace.json"'
"$H4H" sweep --system "$TMP/my.ini" --net "$SRC/nets/hybrid_example.json" \
    --vary cim.macros=1,2 --db "$TMP/c.db" --quiet >/dev/null 2>&1
"$H4H" db export --db "$TMP/c.db" sweep:1 >"$TMP/sw.csv"
check "sweep rows carry the system hash and model revision" \
    'head -1 "$TMP/sw.csv" | grep -q ",system_hash,model_revision," && [ "$(cut -d, -f14 "$TMP/sw.csv" | grep -c "^[0-9a-f]\{16\}$")" -eq 2 ]'
check "the export has a column per varied key, and net" \
    'head -1 "$TMP/sw.csv" | grep -q ",cim.macros,system,net$" && [ "$(cut -d, -f16 "$TMP/sw.csv" | tr "\n" " ")" = "cim.macros 1 2 " ]'

"$H4H" system "$TMP/missing.ini" >/dev/null 2>"$TMP/e1"
check "a missing file exits 2" '[ $? -eq 2 ] && [ "$(wc -l <"$TMP/e1")" -eq 1 ]'
"$H4H" system "$TMP/my.ini" "$TMP/my.ini" >/dev/null 2>"$TMP/e2"
check "two files exit 2" '[ $? -eq 2 ]'
"$H4H" system "$TMP/my.ini" --set cim.macros=-1 >/dev/null 2>"$TMP/e3"
check "a bad --set exits 2" '[ $? -eq 2 ] && grep -q "cim.macros" "$TMP/e3"'
"$H4H" system --help >"$TMP/h" 2>&1
check "--help exits 0" '[ $? -eq 0 ] && grep -q "^usage: h4h system" "$TMP/h"'

cli_done
