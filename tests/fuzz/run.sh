#!/bin/sh
# run.sh FUZZ_DIR SECONDS - make fuzz's runner: each target of fuzz.h for
# SECONDS under libFuzzer (FUZZ_DIR/build/tests/fuzz/h4h_fuzz), niced, one
# job, on a corpus seeded from the shipped files, tests/fuzz/mkseeds.py and
# tests/fuzz/regress/.  Crashers go to FUZZ_DIR/crashes/TARGET-*; one line
# per target; exits 1 if any target crashed.  Leak detection is off for
# dbblob only: it runs SystemC threads, whose stack switches LeakSanitizer
# cannot follow (doc/reliability.md).
set -u
dir=$1 secs=$2
src=${H4H_SRCDIR:-.}
bin="$dir/build/tests/fuzz/h4h_fuzz"
[ -x "$bin" ] || { echo "fuzz: $bin not built" >&2; exit 2; }
mkdir -p "$dir/crashes" "$dir/gen"
python3 "$src/tests/fuzz/mkseeds.py" "$dir/gen"
seeds() {
	case $1 in
	profile) ls "$src"/hwprofiles/*.ini ;;
	net) ls "$src"/nets/*.json ;;
	arch) ls "$src"/nets/h4h-*.json ;;
	space) ls "$src"/spaces/*.json ;;
	csv) ls "$src"/hwprofiles/tables/*.csv ;;
	onnx) ls "$src"/nets/onnx/*.onnx ;;
	esac
}
status=0
for t in profile net arch space gene csv ckpt idx dbblob onnx; do
	c="$dir/corpus/$t"
	mkdir -p "$c"
	for f in $(seeds "$t") "$src/tests/fuzz/regress/$t"/* "$dir/gen/$t"/*; do
		[ -f "$f" ] && cp "$f" "$c/seed-$(basename "$f")"
	done
	leaks=1 maxlen=65536
	[ "$t" = dbblob ] && leaks=0
	# the shipped models are up to 213 KB: longer ones would be cut
	[ "$t" = onnx ] && maxlen=262144
	before=$(ls "$dir/crashes" | wc -l)
	H4H_FUZZ_TARGET=$t H4H_SRCDIR="$src" TMPDIR="$dir" \
	    ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    nice -n 15 "$bin" -max_total_time="$secs" -timeout=20 \
	    -rss_limit_mb=2048 -max_len=$maxlen -detect_leaks=$leaks \
	    -artifact_prefix="$dir/crashes/$t-" "$c" >"$dir/$t.log" 2>&1
	rc=$?
	runs=$(grep -o 'Done [0-9]* runs' "$dir/$t.log" | tail -1)
	after=$(ls "$dir/crashes" | wc -l)
	if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
		echo "fuzz: $t: FAILED (exit $rc; log $dir/$t.log; crashers in $dir/crashes)"
		status=1
	else
		echo "fuzz: $t: ${runs:-no summary} in ${secs}s, corpus $(ls "$c" | wc -l) files"
	fi
done
[ "$status" -eq 0 ] && echo "fuzz: all targets clean"
exit "$status"
