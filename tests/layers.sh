#!/bin/sh
# layers.sh - the layout's rules, checked on the sources (doc/design.md):
# each layer includes only the layers below it (core <- sim/spec <-
# {sim/hw <- sim/engine <- sim/report; sim/front} <- cost <- nas <- cli;
# core <- nn <- nas), hw and front never include each other, a private
# *Int.h is included only from its own folder, <systemc> only in
# hw/kernel.cpp, <mpi.h> only in cli/ranks_mpi.c, no SQLite or GSL in
# src/sim, and no source file in src/sim or src/cost over 1,200 lines.
CLI_NAME=layers
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

cd "$SRC/src" || exit 99

# allowed DIR 'PREFIX...': every project include in DIR starts with one
# of the prefixes (sim/sim.h counts as the engine's).
allowed() {
	dir=$1 ok=$2
	grep -rHoE '#include "[^"]+"' "$dir" --include='*.c' \
	    --include='*.h' --include='*.cpp' --exclude-dir=gen |
	    sed 's/#include "//; s/"$//' >"$TMP/inc"
	while IFS=: read -r file inc; do
		hit=0
		for p in $ok; do
			case $inc in "$p"*) hit=1 ;; esac
		done
		case $inc in
		*Int.h)
			case $file in
			"$(dirname "$inc")"/*) ;;
			*) hit=0 ;;
			esac ;;
		esac
		[ $hit -eq 1 ] || echo "$file includes $inc"
	done <"$TMP/inc" >"$TMP/bad.$$"
	check "$dir includes only $ok" '[ ! -s "$TMP/bad.$$" ] ||
	    { sed "s/^/  /" "$TMP/bad.$$" >&2; false; }'
}

allowed core 'core/'
allowed nn 'core/ nn/'
allowed sim/spec 'core/ sim/spec/'
allowed sim/hw 'core/ sim/spec/ sim/hw/ config.h'
allowed sim/engine 'core/ sim/spec/ sim/hw/ sim/engine/ sim/sim.h'
allowed sim/report 'core/ sim/spec/ sim/hw/ sim/engine/ sim/sim.h sim/report/ config.h'
allowed sim/front 'core/ sim/spec/ sim/front/ src/sim/front/onnx/gen/'
allowed cost 'core/ sim/ cost/'
allowed nas 'core/ nn/ sim/ cost/ nas/ config.h'
allowed cli 'core/ nn/ sim/ cost/ nas/ cli/ config.h'

grep -rlE '#include <systemc' --exclude-dir=gen . >"$TMP/sc"
check "<systemc> only in sim/hw/kernel.cpp" \
    '[ "$(cat "$TMP/sc")" = "./sim/hw/kernel.cpp" ]'
grep -rlE '#include <mpi\.h>' --exclude-dir=gen . >"$TMP/mpi"
check "<mpi.h> only in cli/ranks_mpi.c" \
    '[ "$(cat "$TMP/mpi")" = "./cli/ranks_mpi.c" ]'
check "no SQLite or GSL in src/sim" \
    '! grep -rqE "#include <(sqlite3|gsl/)" sim'
find sim cost -name '*.[ch]' ! -path '*/gen/*' -exec wc -l {} + |
    awk '$2 != "total" && $1 > 1200 { print "  " $2 ": " $1 " lines" }' \
    >"$TMP/long"
check "no source file in src/sim or src/cost over 1,200 lines" \
    '[ ! -s "$TMP/long" ] || { cat "$TMP/long" >&2; false; }'

cli_done
