# cli_common.sh - the preamble every tests/cli_*.sh sources first:
#
#   CLI_NAME=cli_sim
#   . "${H4H_SRCDIR:-.}/tests/cli_common.sh"
#
# It sets H4H_SRCDIR (default ".") and SRC to the source tree, H4H_BIN
# (default ./h4h, made absolute) and H4H to the binary, exits 99 (a hard
# error to automake) when the binary is missing, makes $TMP, removes it on
# exit (after cli_atexit, which a script may redefine, e.g. to unmount),
# turns a signal into a failure, and counts checks: check NAME 'SHELL
# TEST' (or ok / bad NAME), cli_done prints the tally and sets the status.
set -u

: "${CLI_NAME:=cli}"
: "${H4H_SRCDIR:=.}"
: "${H4H_BIN:=./h4h}"
case $H4H_BIN in
/*) ;;
*) H4H_BIN=$(pwd)/$H4H_BIN ;;
esac
SRC=$H4H_SRCDIR
H4H=$H4H_BIN
export H4H_SRCDIR H4H_BIN

if [ ! -x "$H4H_BIN" ]; then
	echo "$CLI_NAME: H4H_BIN '$H4H_BIN' is not an executable" >&2
	exit 99
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/h4h-$CLI_NAME.XXXXXX") || exit 99
cli_atexit() { :; }
cli_cleanup() {
	cli_atexit
	rm -rf "$TMP"
}
trap cli_cleanup EXIT
trap 'exit 1' HUP INT TERM

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$2"; then ok; else bad "$1"; fi; }
cli_done() {
	echo "$CLI_NAME: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
