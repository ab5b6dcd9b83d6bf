#!/bin/sh
# gen_synthetic.sh - regenerate synthetic-u55.csv: per-layer "measurements"
# made by h4h's own simulator with known calibration knob values and +-1 %
# multiplicative noise (awk srand(1), so the output is reproducible), for
# the test that a fit recovers the knobs (tests/check_calibrate.c).
#
# usage: H4H=path/to/h4h sh gen_synthetic.sh > synthetic-u55.csv
#
# The true knob values are TRUTH below (also in README.md).  Every row runs
# on ../system-npu-only.ini with the row's npu_macs, macros and cus set, so
# the table must be fitted with --system hwprofiles/system-npu-only.ini.
set -eu

H4H=${H4H:-h4h}
HERE=$(cd "$(dirname "$0")" && pwd)
SYS="$HERE/../system-npu-only.ini"
TRUTH="npu.cycle_scale_conv=1.15 npu.cycle_scale_pwconv=0.9
npu.cycle_scale_dwconv=1.25 npu.cycle_scale_fc=1.1
npu.cycle_scale_pool=1.3 npu.cycle_scale_elementwise=1.2
npu.op_overhead_cycles=300 cim.mac_cycle_scale=1.2 npu.e_mac_pj=0.1"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/h4h-synth.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

sets=
for kv in $TRUTH; do
	sets="$sets --set $kv"
done

# op in_h in_w in_c out_c kernel stride act npu_macs macros cus
rows() {
	for m in 256 128; do
		cat <<ROWS
conv 8 8 16 16 3 1 relu $m 0 1
conv 14 14 32 32 3 1 relu $m 0 1
conv 28 28 32 64 3 2 relu $m 0 1
conv 28 28 64 64 3 1 none $m 0 1
conv 56 56 16 32 5 1 relu $m 0 1
pw 8 8 32 32 1 1 none $m 0 1
pw 14 14 64 128 1 1 relu $m 0 1
pw 28 28 64 64 1 1 none $m 0 1
pw 56 56 32 64 1 1 relu $m 0 1
pw 7 7 256 512 1 1 none $m 0 1
dw 8 8 64 64 3 1 relu $m 0 1
dw 14 14 128 128 3 1 relu $m 0 1
dw 28 28 64 64 5 1 none $m 0 1
dw 56 56 32 32 3 1 relu $m 0 1
dw 28 28 128 128 3 2 relu $m 0 1
fc 1 1 256 256 0 0 none $m 0 1
fc 1 1 1024 512 0 0 relu $m 0 1
fc 4 4 128 128 0 0 none $m 0 1
fc 1 1 512 1000 0 0 none $m 0 1
add 8 8 32 32 0 0 none $m 0 1
add 14 14 64 64 0 0 none $m 0 1
add 28 28 64 64 0 0 none $m 0 1
add 56 56 32 32 0 0 none $m 0 1
pool 14 14 64 64 3 1 none $m 0 1
pool 28 28 32 32 3 2 none $m 0 1
pool 56 56 16 16 2 2 none $m 0 1
pool 7 7 256 256 0 0 none $m 0 1
ROWS
	done
	cat <<ROWS
pw 14 14 128 256 1 1 none 256 4 4
pw 28 28 64 128 1 1 none 256 4 2
pw 7 7 512 512 1 1 none 128 4 4
fc 1 1 1024 1024 0 0 none 256 4 4
fc 4 4 256 512 0 0 none 128 2 4
dw 28 28 128 128 3 1 none 256 4 4
ROWS
}

net() {	# op h w c oc k s act
	case $1 in
	conv|pw) printf '{"name":"r","input":[%d,%d,%d],"layers":[{"name":"l","op":"conv","kernel":%d,"stride":%d,"out":%d,"act":"%s"}]}' "$2" "$3" "$4" "$6" "$7" "$5" "$8" ;;
	dw) printf '{"name":"r","input":[%d,%d,%d],"layers":[{"name":"l","op":"dwconv","kernel":%d,"stride":%d,"act":"%s"}]}' "$2" "$3" "$4" "$6" "$7" "$8" ;;
	fc) printf '{"name":"r","input":[%d,%d,%d],"layers":[{"name":"l","op":"fc","out":%d,"act":"%s"}]}' "$2" "$3" "$4" "$5" "$8" ;;
	add) printf '{"name":"r","input":[%d,%d,%d],"layers":[{"name":"operand","op":"relu"},{"name":"add","op":"add","inputs":["input","operand"]}]}' "$2" "$3" "$4" ;;
	pool) if [ "$6" -eq 0 ]; then
		printf '{"name":"r","input":[%d,%d,%d],"layers":[{"name":"l","op":"avgpool","global":true}]}' "$2" "$3" "$4"
	      else
		printf '{"name":"r","input":[%d,%d,%d],"layers":[{"name":"l","op":"avgpool","kernel":%d,"stride":%d}]}' "$2" "$3" "$4" "$6" "$7"
	      fi ;;
	esac
}

echo "op,in_h,in_w,in_c,out_c,kernel,stride,act,npu_macs,macros,cus,measured_cycles,measured_energy_j"
rows | while read -r op h w c oc k s act m mac cus; do
	net "$op" "$h" "$w" "$c" "$oc" "$k" "$s" "$act" > "$TMP/net.json"
	# shellcheck disable=SC2086
	"$H4H" sim --system "$SYS" $sets --set "npu.macs=$m" \
	    --set "cim.macros=$mac" --set "cim.cus_per_macro=$cus" \
	    --net "$TMP/net.json" --csv "$TMP/out.csv" > /dev/null
	# The row's layer is the last one (an add's helper relu comes first).
	tail -n 1 "$TMP/out.csv" | awk -F, -v row="$op,$h,$w,$c,$oc,$k,$s,$act,$m,$mac,$cus" \
	    '{ print row "," $16 "," $19 }'
done | awk -F, 'BEGIN { srand(1); OFS = "," }
	{ $12 = sprintf("%.0f", $12 * (1 + 0.02 * (rand() - 0.5)));
	  $13 = sprintf("%.6g", $13 * (1 + 0.02 * (rand() - 0.5)));
	  print }'
