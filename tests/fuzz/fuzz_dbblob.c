/*
 * fuzz_dbblob.c - what the cost database reads back (memo.c's blob and row
 * decoders, partition.c's check of a stored candidate list): a database
 * made once by simulating a small network, then per input one stored row
 * overwritten with the input, as a flipped bit or a buggy tool would leave
 * it (SQLite's integrity_check does not look inside blobs), and the
 * network simulated again through the cache.
 *
 * Input: byte 0 picks the row (bits 0-4), the table (bit 7: layer_costs,
 * else layer_candidates) and whether to preload (bit 6); for a candidate
 * row bytes 1-4 are the stored count (little-endian int32) and the rest the
 * blob; for a cost row the rest are the little-endian doubles of its value
 * columns.  Every input must simulate (a bad row is a cache miss) or fail
 * with a one-line message.
 */
#define _POSIX_C_SOURCE 200809L
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/le.h"
#include "cost/db.h"
#include "cost/memo.h"
#include "cost/store.h"
#include "sim/spec/net.h"
#include "sim/spec/profile.h"
#include "sim/sim.h"
#include "sim/front/net_json.h"

/* Convolutions, depthwise and fully connected layers the macros can take
 * (candidate lists of many entries), and a softmax they cannot. */
static const char net_json[] =
    "{\"name\": \"fuzz\", \"input\": [16, 16, 8], \"layers\": ["
    "{\"name\": \"c1\", \"op\": \"conv\", \"kernel\": 3, \"out\": 32},"
    "{\"name\": \"dw\", \"op\": \"dwconv\", \"kernel\": 3},"
    "{\"name\": \"c2\", \"op\": \"conv\", \"kernel\": 1, \"out\": 48},"
    "{\"name\": \"pool\", \"op\": \"avgpool\", \"global\": true},"
    "{\"name\": \"fc\", \"op\": \"fc\", \"out\": 40},"
    "{\"name\": \"sm\", \"op\": \"softmax\"}]}";

static sim_profile prof;
static sim_net *net;
static unsigned char *pristine;
static size_t pristine_len;
static char db_path[512];

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "fuzz dbblob: %s: %s\n", what, msg);
	abort();
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	h4h_db *db;
	sim_cache cache;
	sim_result *r;
	int64_t sys;
	h4h_err err = { "" };
	FILE *f;

	snprintf(db_path, sizeof db_path, "%s/h4h-fuzz-%ld.db",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp", (long)getpid());
	unlink(db_path);
	if (sim_profile_open(fuzz_src("hwprofiles/system-npu-8cim.ini"), NULL,
	    0, NULL, &prof, &err) != 0 ||
	    sim_net_parse(net_json, "fuzz", &net, &err) != 0 ||
	    h4h_db_open(db_path, H4H_DB_CREATE, &db, &err) != 0)
		die("setup", err.msg);
	if (h4h_db_system(db, &prof, &sys, &err) != 0 ||
	    h4h_db_cache(db, sys, &prof, &cache, &err) != 0 ||
	    sim_run_cached(&prof, net, &cache, &r, &err) != 0 ||
	    h4h_db_flush(db, &err) != 0)
		die("setup", err.msg);
	sim_result_destroy(r);
	h4h_db_close(db);
	if ((f = fopen(db_path, "rb")) == NULL)
		die("setup", "cannot read the database back");
	pristine = h4h_xmalloc(1 << 22);
	pristine_len = fread(pristine, 1, 1 << 22, f);
	fclose(f);
}

/* Overwrites one row of the work copy with the input. */
static void
corrupt(const uint8_t *data, size_t size)
{
	sqlite3 *s;
	sqlite3_stmt *st = NULL;
	int row = data[0] & 31, costs = data[0] & 0x80;
	const char *sql = costs ?
	    "SELECT system_id, layer_id, npu_channels, cim_channels, macros "
	    "FROM layer_costs ORDER BY layer_id, npu_channels, macros "
	    "LIMIT 1 OFFSET ?1" :
	    "SELECT system_id, layer_id FROM layer_candidates "
	    "ORDER BY layer_id LIMIT 1 OFFSET ?1";
	sqlite3_int64 key[5];
	int ncol;

	if (sqlite3_open(db_path, &s) != SQLITE_OK ||
	    sqlite3_prepare_v2(s, sql, -1, &st, NULL) != SQLITE_OK)
		die("corrupt", sqlite3_errmsg(s));
	sqlite3_bind_int(st, 1, row);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		sqlite3_close(s);
		return;		/* no such row: the pristine file */
	}
	ncol = sqlite3_column_count(st);
	for (int i = 0; i < ncol; i++)
		key[i] = sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	if (!costs) {
		int32_t n = size >= 5 ? (int32_t)h4h_le_get32(data + 1) : 0;

		sqlite3_prepare_v2(s, "UPDATE layer_candidates SET n = ?1, "
		    "cands = ?2 WHERE system_id = ?3 AND layer_id = ?4", -1,
		    &st, NULL);
		sqlite3_bind_int(st, 1, n);
		sqlite3_bind_blob(st, 2, size > 5 ? data + 5 : (const void *)"",
		    size > 5 ? (int)(size - 5) : 0, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, key[0]);
		sqlite3_bind_int64(st, 4, key[1]);
	} else {
		static const char *const cols[] = { "cycles", "latency_s",
		    "e_npu_j", "e_cim_j", "e_noc_j", "e_static_j", "energy_j",
		    "noc_bytes_npu", "noc_bytes_cim", "macs" };
		char q[1024];
		size_t o = 0, nv = (size - 1) / 8;

		o += (size_t)snprintf(q + o, sizeof q - o,
		    "UPDATE layer_costs SET ");
		for (size_t i = 0; i < nv && i < 10; i++)
			o += (size_t)snprintf(q + o, sizeof q - o, "%s%s = ?%zu",
			    i ? ", " : "", cols[i], i + 6);
		if (nv == 0)
			o += (size_t)snprintf(q + o, sizeof q - o,
			    "latency_s = NULL");
		snprintf(q + o, sizeof q - o, " WHERE system_id = ?1 AND "
		    "layer_id = ?2 AND npu_channels = ?3 AND cim_channels = ?4 "
		    "AND macros = ?5");
		if (sqlite3_prepare_v2(s, q, -1, &st, NULL) != SQLITE_OK)
			die("corrupt", sqlite3_errmsg(s));
		for (int i = 0; i < 5; i++)
			sqlite3_bind_int64(st, i + 1, key[i]);
		for (size_t i = 0; i < nv && i < 10; i++) {
			uint64_t u = h4h_le_get64(data + 1 + 8 * i);
			double d;

			memcpy(&d, &u, sizeof d);
			if (i == 9)
				sqlite3_bind_int64(st, 15, (sqlite3_int64)u);
			else
				sqlite3_bind_double(st, (int)i + 6, d);
		}
	}
	if (st == NULL)
		die("corrupt", sqlite3_errmsg(s));
	/* A NaN binds as NULL, which the schema's NOT NULL refuses: the
	 * file stays pristine, as SQLite would keep it. */
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
	sqlite3_close(s);
}

int
h4h_fuzz_dbblob(const uint8_t *data, size_t size)
{
	h4h_db *db = NULL;
	sim_cache cache;
	sim_result *r = NULL;
	int64_t sys;
	h4h_err err = { "" };
	char side[600];
	FILE *f;
	int rc;

	if (size < 1)
		return 0;
	if (pristine == NULL)
		setup();
	snprintf(side, sizeof side, "%s-wal", db_path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", db_path);
	unlink(side);
	if ((f = fopen(db_path, "wb")) == NULL ||
	    fwrite(pristine, 1, pristine_len, f) != pristine_len ||
	    fclose(f) != 0)
		die("copy", "cannot write the work copy");
	corrupt(data, size);
	rc = h4h_db_open(db_path, 0, &db, &err);
	if (rc == 0)
		rc = h4h_db_system(db, &prof, &sys, &err);
	if (rc == 0)
		rc = h4h_db_cache(db, sys, &prof, &cache, &err);
	if (rc == 0 && (data[0] & 0x40))
		rc = h4h_db_preload(db, sys, &err);
	if (rc == 0)
		rc = sim_run_cached(&prof, net, &cache, &r, &err);
	fuzz_check("dbblob", rc, &err);
	if (getenv("H4H_FUZZ_VERBOSE") != NULL && db != NULL) {
		const char *first;
		int bad = h4h_db_bad_rows(db, &first);

		fprintf(stderr, "dbblob: rc %d, %d bad rows%s%s\n", rc, bad,
		    bad ? ": " : "", bad ? first : "");
	}
	sim_result_destroy(r);
	h4h_db_close(db);
	return 0;
}
