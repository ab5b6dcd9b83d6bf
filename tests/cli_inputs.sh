#!/bin/sh
# cli_inputs.sh - small input and output rules an architect trips over: a
# JSON network saved with a UTF-8 BOM loads, '[CIM]' suggests '[cim]', a
# comparison never prints "-0.0%", `train --help` names every option
# the parser takes, and a sweep plot's title names the base system and the
# fixed settings, its x label carries the unit and its ticks are the swept
# values.  Needs $H4H_BIN and $H4H_SRCDIR.
CLI_NAME=cli_inputs
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

SYS=$SRC/hwprofiles/system-npu-only.ini
NET=$SRC/nets/hybrid_example.json

printf '\357\273\277' >"$TMP/bom.json"
cat "$NET" >>"$TMP/bom.json"
"$H4H" sim --system "$SYS" --net "$TMP/bom.json" >"$TMP/bom.out" 2>"$TMP/bom.err"
check "a JSON network with a BOM loads" '[ $? -eq 0 ]'
"$H4H" sim --system "$SYS" --net "$NET" >"$TMP/plain.out" 2>/dev/null
check "... and costs the same" \
    '[ "$(tail -1 "$TMP/bom.out")" = "$(tail -1 "$TMP/plain.out")" ]'

printf '[system]\nname = x\n[CIM]\nmacros = 2\n' >"$TMP/upper.ini"
"$H4H" sim --system "$TMP/upper.ini" --net "$NET" >/dev/null 2>"$TMP/up.err"
check "[CIM] exits 2" '[ $? -eq 2 ]'
check "[CIM] suggests [cim]" 'grep -qF "(did you mean '"'"'[cim]'"'"'?)" "$TMP/up.err"'

# The same system twice: the change is exactly 0, printed as +0.0%.
"$H4H" sim --system "$SYS" --system "$SYS" --set system.name=a \
    --net "$NET" >"$TMP/cmp.out" 2>/dev/null
check "an equal system compares +0.0%" \
    'grep -q "latency +0.0%, energy +0.0%" "$TMP/cmp.out"'
"$H4H" sim --system "$SYS" --system "$SYS" --set noc.latency_cycles=33 \
    --net "$NET" >"$TMP/cmp2.out" 2>/dev/null
check "no -0.0%" '! grep -q -- "-0\.0%" "$TMP/cmp2.out"'

"$H4H" train --help >"$TMP/train.help"
for o in model epochs steps batch lr min-lr wd warmup clip smooth randaug \
    no-aug val seed threads data out resume; do
	check "train --help describes --$o" \
	    'grep -qE "^  --$o( |$)" "$TMP/train.help"'
done

"$H4H" sweep --system "$SRC/hwprofiles/system-npu-8cim.ini" --net "$NET" \
    --vary cim.macros=1,2,4 --vary cim.cus_per_macro=4 --db "$TMP/p.db" \
    --quiet >/dev/null 2>&1
"$H4H" plot sweep --db "$TMP/p.db" --sweep 1 --x cim.macros --out "$TMP/fig" \
    --format png >/dev/null 2>&1
check "the plot title names the base system and the fixed settings" \
    'grep -qF "title \"sweep 1: net hybrid-example on npu-8cim (cim.cus_per_macro=4, objective=latency)\"" "$TMP/fig/sweep1.gp"'
check "the x label carries the unit" \
    'grep -qF "set xlabel \"cim.macros (count)\"" "$TMP/fig/sweep1.gp"'
check "integer keys get integer ticks at the swept values" \
    'grep -qF "set xtics (1, 2, 4)" "$TMP/fig/sweep1.gp"'

# Hostile profiles (issue 19): a device, a NUL byte, includes that fan out.
printf '[system]\ninclude = /dev/zero\n' >"$TMP/zero.ini"
timeout 20 "$H4H" sim --system "$TMP/zero.ini" --net "$NET" >/dev/null \
    2>"$TMP/zero.err"
check "include = /dev/zero: exit 2 at once, naming it" \
    '[ $? -eq 2 ] && grep -q "profile '"'"'/dev/zero'"'"' is not a regular file" "$TMP/zero.err"'
printf '[noc]\nbandwidth\000_gbps = 8\n' >"$TMP/nul.ini"
"$H4H" sim --system "$TMP/nul.ini" --net "$NET" >/dev/null 2>"$TMP/nul.err"
check "a NUL byte is named as one, with its line" \
    '[ $? -eq 2 ] && grep -q "nul.ini'"'"' line 2: NUL byte" "$TMP/nul.err"'
mkdir "$TMP/fan"
for k in 0 1 2 3 4 5 6 7; do
	n=$((k + 1))
	printf '[system]\ninclude = l%d.ini,l%d.ini,l%d.ini,l%d.ini,l%d.ini,l%d.ini,l%d.ini,l%d.ini,l%d.ini,l%d.ini\n' \
	    $n $n $n $n $n $n $n $n $n $n >"$TMP/fan/l$k.ini"
done
printf '[noc]\nbandwidth_gbps = 8\n' >"$TMP/fan/l8.ini"
timeout 20 "$H4H" sim --system "$TMP/fan/l0.ini" --net "$NET" >/dev/null \
    2>"$TMP/fan.err"
check "includes that fan out (10^8 loads): exit 2 at once" \
    '[ $? -eq 2 ] && grep -q "more than 256 files loaded through includes" "$TMP/fan.err"'

cli_done
