#!/bin/sh
# cli_reliability.sh - hostile input and awkward outputs (doc/reliability.md):
# outputs never replace what h4h does not own (a character device, a
# symlink, a FIFO), "-" is stdout, a failed write of stdout exits 1 with
# one line; echoed control characters are escaped; a corrupt database row
# is a cache miss reported once, with the same results; a read-only
# database serves what it holds and refuses writes with a hint; a full disk
# says "disk full" and loses nothing; a hostile checkpoint header is
# refused; a 100,000-field CSV line is split in linear time; gnuplot's own
# messages stay out of h4h's.  Run as root, as CI does: the read-only cases
# drop to user nobody (setpriv), the full-disk case mounts a small tmpfs,
# and each is skipped (with a line) where that is not possible.
# Needs $H4H_BIN, $H4H_SRCDIR, python3 and sqlite3's Python module.
CLI_NAME=cli_reliability
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

SYS="$SRC/hwprofiles/system-npu-8cim.ini"
NET="$SRC/nets/hybrid_example.json"
NET2="$SRC/nets/mobilenet_v2.json"
MNT=
cli_atexit() {
	[ -n "$MNT" ] && umount "$MNT" 2>/dev/null
	return 0
}
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }

if ! command -v python3 >/dev/null 2>&1; then
	echo "cli_reliability: python3 missing, skipped"
	exit 77
fi
chmod 755 "$TMP"

# ---- outputs -----------------------------------------------------------------
"$H4H" sim --system "$SYS" --net "$NET" --csv /dev/full >/dev/null 2>"$TMP/e"
check "--csv /dev/full: exit 1" '[ $? -eq 1 ]'
check "--csv /dev/full: one line naming it" 'one_line "$TMP/e" && grep -q "/dev/full.*No space left" "$TMP/e"'
check "--csv /dev/full: still a character device" '[ -c /dev/full ]'
"$H4H" sim --system "$SYS" --net "$NET" --trace /dev/full >/dev/null 2>"$TMP/e"
check "--trace /dev/full: exit 1, device kept" '[ $? -eq 1 ] && [ -c /dev/full ]'
"$H4H" sim --system "$SYS" --net "$NET" --csv /dev/null >/dev/null 2>&1
check "--csv /dev/null: exit 0, still a device" '[ $? -eq 0 ] && [ -c /dev/null ]'

ln -s real.csv "$TMP/link.csv"
"$H4H" sim --system "$SYS" --net "$NET" --csv "$TMP/link.csv" >/dev/null 2>&1
check "--csv through a symlink: exit 0" '[ $? -eq 0 ]'
check "the symlink is still a symlink" '[ -L "$TMP/link.csv" ]'
check "its target holds the CSV" 'head -1 "$TMP/real.csv" | grep -q "^system,net,layer"'
ln -s "$TMP/sub/new.json" "$TMP/dangling.json"
mkdir "$TMP/sub"
"$H4H" sim --system "$SYS" --net "$NET" --trace "$TMP/dangling.json" >/dev/null 2>&1
check "--trace through a dangling symlink creates its target" \
    '[ -L "$TMP/dangling.json" ] && [ -s "$TMP/sub/new.json" ]'

mkfifo "$TMP/fifo"
cat "$TMP/fifo" >"$TMP/fifo.out" &
reader=$!
"$H4H" sim --system "$SYS" --net "$NET" --csv "$TMP/fifo" >/dev/null 2>&1
rc=$?
wait "$reader"
check "--csv FIFO: exit 0" '[ "$rc" -eq 0 ]'
check "--csv FIFO: still a FIFO" '[ -p "$TMP/fifo" ]'
check "--csv FIFO: the reader got the CSV" 'head -1 "$TMP/fifo.out" | grep -q "^system,net,layer"'

"$H4H" sim --system "$SYS" --net "$NET" --csv - >"$TMP/o" 2>/dev/null
check "--csv -: the CSV on stdout" '[ $? -eq 0 ] && grep -q "^system,net,layer" "$TMP/o"'
"$H4H" sim --system "$SYS" --net "$NET" --csv "$TMP/sub" >/dev/null 2>"$TMP/e"
check "--csv DIRECTORY: exit 1, one line, directory kept" \
    '[ $? -eq 1 ] && one_line "$TMP/e" && grep -qi "directory" "$TMP/e" && [ -d "$TMP/sub" ]'

"$H4H" sim --system "$SYS" --net "$NET" --json >/dev/full 2>"$TMP/e"
check "--json to a full stdout: exit 1, one line" '[ $? -eq 1 ] && one_line "$TMP/e" && grep -q "stdout" "$TMP/e"'
"$H4H" sim --system "$SYS" --net "$NET" >/dev/full 2>"$TMP/e"
check "table to a full stdout: exit 1, one line" '[ $? -eq 1 ] && one_line "$TMP/e"'
"$H4H" --help >/dev/full 2>"$TMP/e"
check "--help to a full stdout: exit 1" '[ $? -eq 1 ]'

# ---- messages ----------------------------------------------------------------
printf '{"name":"x","input":[8,8,3],"layers":[{"name":"a","op":"conv","k\\u0001e\\ny":3}]}' >"$TMP/ctl.json"
"$H4H" sim --system "$SYS" --net "$TMP/ctl.json" >/dev/null 2>"$TMP/e"
check "control characters in a JSON key: exit 2, one escaped line" \
    '[ $? -eq 2 ] && one_line "$TMP/e" && grep -q "k\\\\x01e\\\\x0ay" "$TMP/e"'
"$H4H" sim --system "$SYS" --net "$NET" --set "$(printf 'noc.x\ty=1')" >/dev/null 2>"$TMP/e"
check "a tab in an option: one line" '[ $? -eq 2 ] && one_line "$TMP/e"'

# A fake gnuplot that fails loudly: h4h says so in one line and keeps its
# messages in the log file.
mkdir "$TMP/bin"
printf '#!/bin/sh\necho "gnuplot line 1" >&2\necho "gnuplot line 2" >&2\nexit 1\n' >"$TMP/bin/gnuplot"
chmod +x "$TMP/bin/gnuplot"
PATH="$TMP/bin:$PATH" "$H4H" profile fig3 --system "$SYS" --out "$TMP/f3" --plot \
    >/dev/null 2>"$TMP/e"
check "failing gnuplot: exit 1, one line naming its log" \
    '[ $? -eq 1 ] && one_line "$TMP/e" && grep -q "fig3.gnuplot.log" "$TMP/e"'
check "gnuplot's messages are in the log" 'grep -q "gnuplot line 2" "$TMP/f3/fig3.gnuplot.log"'

# ---- database rows -------------------------------------------------------------
"$H4H" sim --system "$SYS" --net "$NET" --db "$TMP/c.db" >"$TMP/fresh" 2>/dev/null
python3 - "$TMP/c.db" <<'PY'
import sqlite3, struct, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("SELECT system_id, layer_id, n, cands FROM layer_candidates "
                 "WHERE n >= 2 ORDER BY layer_id").fetchall()
sid, lid, n, b = rows[0]
b = bytearray(b)
struct.pack_into("<d", b, 16, -1.0)               # candidate 1: -1 s
c.execute("UPDATE layer_candidates SET cands = ? WHERE system_id = ? AND "
          "layer_id = ?", (bytes(b), sid, lid))
sid, lid, n, b = rows[1]
c.execute("UPDATE layer_candidates SET n = ? WHERE system_id = ? AND "
          "layer_id = ?", (2**28 + 2, sid, lid))  # wraps n * 16 in int
sid, lid, n, b = rows[2]
c.execute("UPDATE layer_candidates SET n = ?, cands = ? WHERE system_id = ? "
          "AND layer_id = ?", (n - 1, b[:-16], sid, lid))  # not the layout

k = c.execute("SELECT system_id, layer_id, npu_channels, cim_channels, macros "
              "FROM layer_costs LIMIT 1").fetchone()
c.execute("UPDATE layer_costs SET latency_s = -1 WHERE system_id = ? AND "
          "layer_id = ? AND npu_channels = ? AND cim_channels = ? AND "
          "macros = ?", k)
c.execute("DELETE FROM network_costs")
c.commit()
PY
check "integrity_check still passes on the corrupt rows" \
    'python3 -c "import sqlite3,sys; sys.exit(sqlite3.connect(sys.argv[1]).execute(\"PRAGMA integrity_check\").fetchone()[0] != \"ok\")" "$TMP/c.db"'
"$H4H" sim --system "$SYS" --net "$NET" --db "$TMP/c.db" >"$TMP/again" 2>"$TMP/e"
check "corrupt rows: exit 0" '[ $? -eq 0 ]'
check "corrupt rows: the same table as the fresh run" 'cmp -s "$TMP/fresh" "$TMP/again"'
check "corrupt rows: one warning line" \
    '[ "$(grep -c "warning: 4 stored rows ignored as invalid" "$TMP/e")" -eq 1 ]'

# Values no simulation can give: text in a REAL column (SQLite reads it
# as 0.0) and a negative network cost (it would win every search, and a
# resumed sweep printed -5000 ms) are misses, recomputed with one warning
# and repaired in the file; a system row whose text no longer matches its
# hash is refused, naming the row.
"$H4H" sim --system "$SYS" --net "$NET" --db "$TMP/v.db" >/dev/null 2>&1
python3 - "$TMP/v.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE layer_costs SET energy_j = 'x' WHERE (system_id, layer_id, "
          "npu_channels, cim_channels, macros) IN (SELECT system_id, "
          "layer_id, npu_channels, cim_channels, macros FROM layer_costs "
          "LIMIT 1)")
c.commit()
PY
"$H4H" sim --system "$SYS" --net "$NET" --db "$TMP/v.db" >"$TMP/v.again" 2>"$TMP/v.e"
check "text in a REAL column: exit 0, the fresh run's table" \
    '[ $? -eq 0 ] && cmp -s "$TMP/fresh" "$TMP/v.again"'
check "text in a REAL column: one warning naming it" \
    'grep -q "warning: 1 stored row ignored as invalid.*column 7 is text" "$TMP/v.e"'
"$H4H" sim --system "$SYS" --net "$NET" --db "$TMP/v.db" >/dev/null 2>"$TMP/v.e2"
check "text in a REAL column: repaired (no warning the next time)" \
    '! grep -q warning "$TMP/v.e2"'
SW="--system $SYS --net $NET --vary noc.bandwidth_gbps=4,8 --db $TMP/w.db --quiet"
"$H4H" sweep $SW >"$TMP/w.fresh" 2>/dev/null
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('UPDATE network_costs SET latency_s = -5 WHERE system_id = (SELECT min(system_id) FROM network_costs)'); c.commit()" "$TMP/w.db"
"$H4H" sweep $SW >"$TMP/w.again" 2>"$TMP/w.e"
check "a negative network cost: the resumed sweep prints the fresh table" \
    '[ $? -eq 0 ] && cmp -s "$TMP/w.fresh" "$TMP/w.again"'
check "a negative network cost: one warning naming it" \
    '[ "$(grep -c "network_costs of system .*column 0 is -5" "$TMP/w.e")" -eq 1 ]'
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE systems SET hash = '0123456789abcdef'\"); c.commit()" "$TMP/v.db"
"$H4H" sim --system "$SYS" --net "$NET" --db "$TMP/v.db" >/dev/null 2>"$TMP/h.e"
check "a system row whose hash is not its text's: exit 2, one line" \
    '[ $? -eq 2 ] && [ "$(wc -l <"$TMP/h.e")" -eq 1 ] && grep -q "changed outside h4h" "$TMP/h.e"'

# ---- read-only database ----------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	NB="setpriv --reuid=65534 --regid=65534 --clear-groups"
	mkdir "$TMP/ro"
	"$H4H" sim --system "$SYS" --net "$NET" --db "$TMP/ro/r.db" >"$TMP/ro.fresh" 2>/dev/null
	"$H4H" db summary --db "$TMP/ro/r.db" >"$TMP/ro.sum" 2>/dev/null
	chmod 755 "$TMP/ro"
	chmod 644 "$TMP/ro/r.db"
	rm -f "$TMP/ro/r.db-wal" "$TMP/ro/r.db-shm"
	$NB "$H4H" db summary --db "$TMP/ro/r.db" >"$TMP/o" 2>"$TMP/e"
	check "read-only directory: db summary works" '[ $? -eq 0 ] && cmp -s "$TMP/o" "$TMP/ro.sum"'
	$NB "$H4H" db query --db "$TMP/ro/r.db" "SELECT count(*) FROM layers" >"$TMP/o" 2>"$TMP/e"
	check "read-only directory: db query works" '[ $? -eq 0 ] && [ "$(sed -n 2p "$TMP/o")" -gt 0 ]'
	$NB "$H4H" sim --system "$SYS" --net "$NET" --db "$TMP/ro/r.db" >"$TMP/o" 2>"$TMP/e"
	check "read-only directory: sim --db of a stored run works" '[ $? -eq 0 ] && cmp -s "$TMP/o" "$TMP/ro.fresh"'
	$NB "$H4H" sim --system "$SYS" --net "$NET2" --db "$TMP/ro/r.db" >/dev/null 2>"$TMP/e"
	check "read-only directory: a new run says read-only, with a hint" \
	    '[ $? -ne 0 ] && one_line "$TMP/e" && grep -q "read-only.*writable" "$TMP/e"'
	check "read-only directory: nothing created there" \
	    '[ "$(ls "$TMP/ro")" = "r.db" ]'
else
	echo "cli_reliability: not root or no setpriv: read-only cases skipped"
fi

# ---- full disk ----------------------------------------------------------------------
# A database with one run, then the disk filled to the last block: a new
# run fails with "disk full", what was stored is intact, and once there is
# space again the same command completes.
mkdir "$TMP/full"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=4m tmpfs "$TMP/full" 2>/dev/null; then
	MNT="$TMP/full"
	"$H4H" sim --system "$SYS" --net "$NET" --db "$TMP/full/f.db" >/dev/null 2>&1
	"$H4H" db summary --db "$TMP/full/f.db" >"$TMP/full.sum" 2>/dev/null
	dd if=/dev/zero of="$TMP/full/filler" bs=4k >/dev/null 2>&1
	"$H4H" sim --system "$SYS" --net "$NET2" --db "$TMP/full/f.db" >/dev/null 2>"$TMP/e"
	check "full disk: exit 1, one line saying disk full" \
	    '[ $? -eq 1 ] && one_line "$TMP/e" && grep -q "disk full" "$TMP/e"'
	"$H4H" db summary --db "$TMP/full/f.db" >"$TMP/o" 2>"$TMP/e"
	check "full disk: what was stored is intact" '[ $? -eq 0 ] && cmp -s "$TMP/o" "$TMP/full.sum"'
	"$H4H" sweep --system "$SYS" --net "$NET2" --vary cim.macros=2,3 \
	    --db "$TMP/full/f.db" --quiet >/dev/null 2>"$TMP/e"
	check "full disk: a sweep says disk full once" \
	    '[ $? -eq 1 ] && one_line "$TMP/e" && grep -q "disk full" "$TMP/e"'
	rm -f "$TMP/full/filler"
	"$H4H" sim --system "$SYS" --net "$NET2" --db "$TMP/full/f.db" >/dev/null 2>"$TMP/e"
	check "with space again the run completes" '[ $? -eq 0 ] && grep -q "simulated" "$TMP/e"'
	"$H4H" sweep --system "$SYS" --net "$NET2" --vary cim.macros=2,3 \
	    --db "$TMP/full/f.db" --quiet >"$TMP/o" 2>"$TMP/e"
	check "with space again the sweep completes" \
	    '[ $? -eq 0 ] && [ "$(grep -c " done " "$TMP/o")" -eq 2 ]'
	umount "$TMP/full" && MNT=
else
	echo "cli_reliability: cannot mount a tmpfs: full-disk case skipped"
fi

# ---- hostile checkpoint header ---------------------------------------------------------
mkdir "$TMP/d"
python3 "$SRC/tests/make_fmnist.py" "$TMP/d" 300 100 1
T="--data $TMP/d --model ref-cnn --batch 32 --val 32 --no-aug --threads 1"
# shellcheck disable=SC2086
"$H4H" train $T --steps 3 --out "$TMP/a.ckpt" >/dev/null 2>&1
python3 - "$TMP/a.ckpt" "$TMP/h.ckpt" <<'PY'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<q", b, 24, -2**31 - 1)      # header step
struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])) & 0xffffffff)
open(sys.argv[2], "wb").write(b)
PY
# shellcheck disable=SC2086
"$H4H" train $T --steps 6 --resume "$TMP/h.ckpt" --out "$TMP/h2.ckpt" >/dev/null 2>"$TMP/e"
check "CRC-valid checkpoint with step -2^31-1: exit 2, one line" \
    '[ $? -eq 2 ] && one_line "$TMP/e" && grep -q "step out of range" "$TMP/e"'
python3 - "$TMP/a.ckpt" "$TMP/h.ckpt" <<'PY'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<q", b, 24, 2)                # header step 2, tensor 3
struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])) & 0xffffffff)
open(sys.argv[2], "wb").write(b)
PY
# shellcheck disable=SC2086
"$H4H" train $T --steps 3 --resume "$TMP/h.ckpt" --out "$TMP/h2.ckpt" >/dev/null 2>"$TMP/e"
check "header step disagreeing with the tensor: exit 2, one line" \
    '[ $? -eq 2 ] && one_line "$TMP/e" && grep -q "header says" "$TMP/e"'
# shellcheck disable=SC2086
"$H4H" train $T --steps 3 --resume "$TMP/a.ckpt" --out "$TMP/h2.ckpt" >/dev/null 2>"$TMP/e"
check "the untouched checkpoint resumes" '[ $? -eq 0 ]'

# ---- stored names printed: escaped, valid JSON (issue 19) -------------------------------
"$H4H" sim --system "$SYS" --net "$NET" --db "$TMP/names.db" >/dev/null 2>&1
python3 - "$TMP/names.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
# a name with an escape sequence and a newline, and one of invalid UTF-8
c.execute("UPDATE networks SET name = 'n\x1b[31mred\nline'")
c.execute("UPDATE systems SET name = CAST(X'61ff62c0af63eda080' AS TEXT)")
c.commit()
PY
"$H4H" db summary --db "$TMP/names.db" >"$TMP/names.sum" 2>"$TMP/e"
check "db summary of control characters: exit 0" '[ $? -eq 0 ]'
check "... printed escaped, on one line" \
    '! grep -q "$(printf "\033")" "$TMP/names.sum" && grep -q "n\\\\x1b\[31mred\\\\x0aline" "$TMP/names.sum"'
for t in networks systems; do
	"$H4H" db export --db "$TMP/names.db" --format json "table:$t" \
	    >"$TMP/names.json" 2>"$TMP/e"
	check "db export --format json table:$t: valid JSON despite the bytes" \
	    'python3 -c "import json, sys; json.loads(open(sys.argv[1], \"rb\").read().decode(\"utf-8\"))" "$TMP/names.json"'
done
check "... invalid UTF-8 as U+FFFD" 'grep -q "a\\\\ufffdb\\\\ufffd\\\\ufffdc" "$TMP/names.json"'

# ---- wide CSV ----------------------------------------------------------------------------
python3 -c "
import sys
print(','.join('c%d' % i for i in range(100000)))
print(','.join('1' for i in range(100000)))" >"$TMP/wide.csv"
start=$(date +%s)
"$H4H" calibrate --system "$SYS" --table "$TMP/wide.csv" --out "$TMP/w.ini" >/dev/null 2>"$TMP/e"
rc=$?
took=$(($(date +%s) - start))
check "100,000-field CSV: exit 2, one line, under 5 s (took ${took}s)" \
    '[ "$rc" -eq 2 ] && one_line "$TMP/e" && [ "$took" -lt 5 ]'

cli_done
