/*
 * db.c - the cost database (see db.h; doc/database.md has the schema and
 * its rules).
 *
 * Invariants:
 * - Every statement is prepared once, at open, and reset (bindings cleared)
 *   after each use, whatever the outcome.
 * - Writes happen only inside one BEGIN IMMEDIATE transaction per flush,
 *   sweep step or identity insert, so another process sees all of a batch
 *   or none of it; a failed batch is rolled back and stays pending, and the
 *   layer ids it handed out are forgotten (another process may reuse them).
 * - What the memo returns is exactly what the file returns after a flush:
 *   a put keeps only the stored fields, with -0.0 read as +0.0 (SQLite's
 *   REAL affinity stores an integral double as an integer, which drops the
 *   sign of zero); a NaN, which SQLite would store as NULL, is refused.
 * - Memo entries are allocated one by one and never freed before close, so
 *   candidate lists handed to the engine stay valid while the cache lives.
 * - A file is checked (16-byte SQLite header, application_id, user_version)
 *   before anything is written to it: a refused file is never modified.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "cost/db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/hash.h"
#include "core/le.h"
#include "sim/spec/canon.h"

#define NOW "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

/* ---- schema ------------------------------------------------------------- */

/* Version 1.  Frozen: a change is a new migration, never an edit here. */
static const char schema_v1[] =
	"CREATE TABLE systems (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  hash TEXT NOT NULL,\n"
	"  canon TEXT NOT NULL UNIQUE,\n"
	"  name TEXT,\n"
	"  created_at TEXT\n"
	");\n"
	"CREATE TABLE layers (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  hash TEXT NOT NULL,\n"
	"  key TEXT NOT NULL UNIQUE,\n"
	"  op TEXT NOT NULL,\n"
	"  macs INTEGER,\n"
	"  weight_bytes INTEGER\n"
	");\n"
	"CREATE TABLE layer_candidates (\n"
	"  system_id INTEGER NOT NULL REFERENCES systems,\n"
	"  layer_id INTEGER NOT NULL REFERENCES layers,\n"
	"  n INTEGER NOT NULL,\n"
	"  cands BLOB NOT NULL,\n"
	"  PRIMARY KEY (system_id, layer_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE layer_costs (\n"
	"  system_id INTEGER NOT NULL REFERENCES systems,\n"
	"  layer_id INTEGER NOT NULL REFERENCES layers,\n"
	"  npu_channels INTEGER NOT NULL,\n"
	"  cim_channels INTEGER NOT NULL,\n"
	"  macros INTEGER NOT NULL,\n"
	"  cycles REAL NOT NULL,\n"
	"  latency_s REAL NOT NULL,\n"
	"  end_ps INTEGER NOT NULL,\n"
	"  e_npu_j REAL NOT NULL,\n"
	"  e_cim_j REAL NOT NULL,\n"
	"  e_noc_j REAL NOT NULL,\n"
	"  e_static_j REAL NOT NULL,\n"
	"  energy_j REAL NOT NULL,\n"
	"  noc_bytes_npu REAL NOT NULL,\n"
	"  noc_bytes_cim REAL NOT NULL,\n"
	"  noc_busy_s REAL NOT NULL,\n"
	"  npu_busy_s REAL NOT NULL,\n"
	"  cim_busy_s REAL NOT NULL,\n"
	"  macs INTEGER NOT NULL,\n"
	"  npu_fraction REAL NOT NULL,\n"
	"  est_latency_s REAL NOT NULL,\n"
	"  PRIMARY KEY (system_id, layer_id, npu_channels, cim_channels,"
	" macros)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE networks (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  hash TEXT NOT NULL,\n"
	"  canon TEXT NOT NULL UNIQUE,\n"
	"  name TEXT,\n"
	"  source TEXT NOT NULL CHECK (source IN ('net', 'arch')),\n"
	"  arch TEXT,\n"
	"  n_layers INTEGER,\n"
	"  macs INTEGER\n"
	");\n"
	"CREATE TABLE network_costs (\n"
	"  system_id INTEGER NOT NULL REFERENCES systems,\n"
	"  network_id INTEGER NOT NULL REFERENCES networks,\n"
	"  objective TEXT NOT NULL"
	" CHECK (objective IN ('latency', 'energy', 'edp')),\n"
	"  latency_s REAL NOT NULL,\n"
	"  energy_j REAL NOT NULL,\n"
	"  cycles REAL NOT NULL,\n"
	"  e_npu_j REAL NOT NULL,\n"
	"  e_cim_j REAL NOT NULL,\n"
	"  e_noc_j REAL NOT NULL,\n"
	"  e_static_j REAL NOT NULL,\n"
	"  noc_bytes_npu REAL NOT NULL,\n"
	"  noc_bytes_cim REAL NOT NULL,\n"
	"  macs INTEGER NOT NULL,\n"
	"  cim_weight_bytes REAL NOT NULL,\n"
	"  created_at TEXT,\n"
	"  PRIMARY KEY (system_id, network_id, objective)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX network_costs_network ON network_costs (network_id);\n"
	"CREATE TABLE sweeps (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  args TEXT NOT NULL UNIQUE,\n"
	"  n_points INTEGER NOT NULL,\n"
	"  status TEXT NOT NULL,\n"
	"  started_at TEXT,\n"
	"  ended_at TEXT\n"
	");\n"
	"CREATE TABLE runs (\n"
	"  sweep_id INTEGER NOT NULL REFERENCES sweeps,\n"
	"  point INTEGER NOT NULL,\n"
	"  params TEXT NOT NULL,\n"
	"  status TEXT NOT NULL"
	" CHECK (status IN ('pending', 'running', 'done', 'failed')),\n"
	"  pid INTEGER,\n"
	"  system_id INTEGER REFERENCES systems,\n"
	"  network_id INTEGER REFERENCES networks,\n"
	"  started_at TEXT,\n"
	"  ended_at TEXT,\n"
	"  error TEXT,\n"
	"  CHECK (status != 'done' OR"
	" (system_id IS NOT NULL AND network_id IS NOT NULL)),\n"
	"  PRIMARY KEY (sweep_id, point)\n"
	");\n";

/* Version 2: the epoch logs of supernet training (h4h supernet train
 * --db).  A run is its space, recipe, seed and settings text; an epoch row
 * is unique per run, phase and epoch.  Frozen, like version 1. */
static const char schema_v2[] =
	"CREATE TABLE train_runs (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  space TEXT NOT NULL,\n"
	"  recipe TEXT NOT NULL,\n"
	"  seed INTEGER NOT NULL,\n"
	"  settings TEXT NOT NULL,\n"
	"  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ',"
	" 'now')),\n"
	"  UNIQUE (space, recipe, seed, settings)\n"
	");\n"
	"CREATE TABLE train_epochs (\n"
	"  run_id INTEGER NOT NULL REFERENCES train_runs,\n"
	"  phase INTEGER NOT NULL,\n"
	"  epoch INTEGER NOT NULL,\n"
	"  step INTEGER NOT NULL,\n"
	"  train_loss REAL, train_acc REAL, kd_loss REAL,\n"
	"  max_val_acc REAL, min_val_acc REAL,\n"
	"  seconds REAL, img_per_s REAL,\n"
	"  logged_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ',"
	" 'now')),\n"
	"  PRIMARY KEY (run_id, phase, epoch)\n"
	");\n";

/* The tables `h4h db export table:NAME` may name. */
static const char *const table_names[] = { "systems", "layers",
    "layer_candidates", "layer_costs", "networks", "network_costs",
    "sweeps", "runs", "train_runs", "train_epochs", "subnet_accuracy" };
#define N_TABLES (sizeof table_names / sizeof table_names[0])

/* Version 3: the model revision that made a system's costs.  It is part
 * of the system's canonical text too, so costs of another revision are
 * never found; the column makes them visible.  Files of versions 1 and 2
 * were all written by model revision 1 (before revisions existed): their
 * systems stay, with their costs, under revision 1.  Frozen. */
static const char schema_v3[] =
	"ALTER TABLE systems ADD COLUMN model_revision INTEGER NOT NULL"
	" DEFAULT 1;\n";

/* Version 4: the accuracy cache of the architecture search (h4h search).
 * A subnet's accuracy is a function of the supernet's weights (the
 * checkpoint's content hash), the gene's canonical text, the split and the
 * evaluation settings (recalibration images, batch and seed, images
 * scored); it does not depend on the system, so every system and budget
 * reuses it.  Frozen. */
static const char schema_v4[] =
	"CREATE TABLE subnet_accuracy (\n"
	"  supernet TEXT NOT NULL,\n"
	"  gene TEXT NOT NULL,\n"
	"  split TEXT NOT NULL,\n"
	"  settings TEXT NOT NULL,\n"
	"  accuracy REAL NOT NULL,\n"
	"  seconds REAL,\n"
	"  evaluated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ',"
	" 'now')),\n"
	"  PRIMARY KEY (supernet, split, settings, gene)\n"
	");\n";

static int
migrate_0_1(sqlite3 *s)
{
	return sqlite3_exec(s, schema_v1, NULL, NULL, NULL);
}

static int
migrate_1_2(sqlite3 *s)
{
	return sqlite3_exec(s, schema_v2, NULL, NULL, NULL);
}

static int
migrate_2_3(sqlite3 *s)
{
	return sqlite3_exec(s, schema_v3, NULL, NULL, NULL);
}

static int
migrate_3_4(sqlite3 *s)
{
	return sqlite3_exec(s, schema_v4, NULL, NULL, NULL);
}

/* migrations[k] takes the schema from version k to k + 1. */
static int (*const migrations[H4H_DB_SCHEMA_VERSION])(sqlite3 *) = {
	migrate_0_1,
	migrate_1_2,
	migrate_2_3,
	migrate_3_4,
};

/* ---- statements --------------------------------------------------------- */

/* layer_costs' value columns, in the order of cost_cols[]. */
#define COST_COLS "cycles, latency_s, end_ps, e_npu_j, e_cim_j, e_noc_j, " \
	"e_static_j, energy_j, noc_bytes_npu, noc_bytes_cim, noc_busy_s, " \
	"npu_busy_s, cim_busy_s, macs, npu_fraction, est_latency_s"
/* network_costs' value columns, in the order of ncost_ent.v[] + macs. */
#define NCOST_COLS "latency_s, energy_j, cycles, e_npu_j, e_cim_j, " \
	"e_noc_j, e_static_j, noc_bytes_npu, noc_bytes_cim, " \
	"cim_weight_bytes, macs"

enum {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_SYS_INSERT, ST_SYS_ID, ST_SYS_EXISTS,
	ST_NET_INSERT, ST_NET_ID, ST_NET_EXISTS,
	ST_LAYER_INSERT, ST_LAYER_ID,
	ST_CANDS_GET, ST_CANDS_PUT,
	ST_COST_GET, ST_COST_PUT,
	ST_NCOST_GET, ST_NCOST_PUT,
	ST_SWEEP_FIND, ST_SWEEP_INSERT, ST_SWEEP_NPOINTS, ST_RUN_INSERT,
	ST_RUN_RUNNING, ST_RUN_RESET, ST_RUN_NEXT, ST_RUN_START,
	ST_RUN_DONE, ST_RUN_FAIL, ST_SWEEP_PROGRESS, ST_SWEEP_END,
	ST_COUNT
};

static const char *const st_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SYS_INSERT] = "INSERT OR IGNORE INTO systems (hash, canon, name, "
	    "created_at, model_revision) VALUES (?1, ?2, ?3, " NOW ", ?4)",
	[ST_SYS_ID] = "SELECT id FROM systems WHERE canon = ?1",
	[ST_SYS_EXISTS] = "SELECT 1 FROM systems WHERE id = ?1",
	[ST_NET_INSERT] = "INSERT OR IGNORE INTO networks (hash, canon, name, "
	    "source, arch, n_layers, macs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_NET_ID] = "SELECT id FROM networks WHERE canon = ?1",
	[ST_NET_EXISTS] = "SELECT 1 FROM networks WHERE id = ?1",
	[ST_LAYER_INSERT] = "INSERT OR IGNORE INTO layers (hash, key, op, "
	    "macs, weight_bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_LAYER_ID] = "SELECT id FROM layers WHERE key = ?1",
	[ST_CANDS_GET] = "SELECT n, cands FROM layer_candidates "
	    "WHERE system_id = ?1 AND layer_id = ?2",
	[ST_CANDS_PUT] = "INSERT OR IGNORE INTO layer_candidates (system_id, "
	    "layer_id, n, cands) VALUES (?1, ?2, ?3, ?4)",
	[ST_COST_GET] = "SELECT " COST_COLS " FROM layer_costs "
	    "WHERE system_id = ?1 AND layer_id = ?2 AND npu_channels = ?3 "
	    "AND cim_channels = ?4 AND macros = ?5",
	[ST_COST_PUT] = "INSERT OR IGNORE INTO layer_costs (system_id, "
	    "layer_id, npu_channels, cim_channels, macros, " COST_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
	[ST_NCOST_GET] = "SELECT " NCOST_COLS " FROM network_costs "
	    "WHERE system_id = ?1 AND network_id = ?2 AND objective = ?3",
	[ST_NCOST_PUT] = "INSERT OR IGNORE INTO network_costs (system_id, "
	    "network_id, objective, " NCOST_COLS ", created_at) VALUES (?1, "
	    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, " NOW ")",
	[ST_SWEEP_FIND] = "SELECT id, n_points FROM sweeps WHERE args = ?1",
	[ST_SWEEP_INSERT] = "INSERT INTO sweeps (args, n_points, status, "
	    "started_at) VALUES (?1, ?2, 'running', " NOW ")",
	[ST_SWEEP_NPOINTS] = "SELECT n_points FROM sweeps WHERE id = ?1",
	[ST_RUN_INSERT] = "INSERT INTO runs (sweep_id, point, params, status) "
	    "VALUES (?1, ?2, ?3, 'pending')",
	[ST_RUN_RUNNING] = "SELECT point, pid FROM runs "
	    "WHERE sweep_id = ?1 AND status = 'running'",
	[ST_RUN_RESET] = "UPDATE runs SET status = 'pending', pid = NULL, "
	    "started_at = NULL WHERE sweep_id = ?1 AND point = ?2 "
	    "AND status = 'running'",
	[ST_RUN_NEXT] = "SELECT point FROM runs WHERE sweep_id = ?1 "
	    "AND status = 'pending' ORDER BY point LIMIT 1",
	[ST_RUN_START] = "UPDATE runs SET status = 'running', pid = ?3, "
	    "started_at = " NOW ", ended_at = NULL, error = NULL "
	    "WHERE sweep_id = ?1 AND point = ?2",
	[ST_RUN_DONE] = "UPDATE runs SET status = 'done', system_id = ?3, "
	    "network_id = ?4, ended_at = " NOW ", error = NULL "
	    "WHERE sweep_id = ?1 AND point = ?2",
	[ST_RUN_FAIL] = "UPDATE runs SET status = 'failed', error = ?3, "
	    "ended_at = " NOW " WHERE sweep_id = ?1 AND point = ?2",
	[ST_SWEEP_PROGRESS] = "SELECT count(*), "
	    "coalesce(sum(status = 'done'), 0), "
	    "coalesce(sum(status = 'failed'), 0) FROM runs WHERE sweep_id = ?1",
	[ST_SWEEP_END] = "UPDATE sweeps SET status = 'done', ended_at = " NOW
	    " WHERE id = ?1 AND status != 'done' AND NOT EXISTS "
	    "(SELECT 1 FROM runs WHERE sweep_id = ?1 AND status != 'done')",
};

/* The stored fields of a layer result, in COST_COLS order. */
enum { F_DOUBLE, F_U64, F_LL };
static const struct {
	size_t off;
	int type;
} cost_cols[] = {
	{ offsetof(sim_layer_result, cycles), F_DOUBLE },
	{ offsetof(sim_layer_result, latency_s), F_DOUBLE },
	{ offsetof(sim_layer_result, end_ps), F_U64 },
	{ offsetof(sim_layer_result, e_npu_j), F_DOUBLE },
	{ offsetof(sim_layer_result, e_cim_j), F_DOUBLE },
	{ offsetof(sim_layer_result, e_noc_j), F_DOUBLE },
	{ offsetof(sim_layer_result, e_static_j), F_DOUBLE },
	{ offsetof(sim_layer_result, energy_j), F_DOUBLE },
	{ offsetof(sim_layer_result, noc_bytes_npu), F_DOUBLE },
	{ offsetof(sim_layer_result, noc_bytes_cim), F_DOUBLE },
	{ offsetof(sim_layer_result, noc_busy_s), F_DOUBLE },
	{ offsetof(sim_layer_result, npu_busy_s), F_DOUBLE },
	{ offsetof(sim_layer_result, cim_busy_s), F_DOUBLE },
	{ offsetof(sim_layer_result, macs), F_LL },
	{ offsetof(sim_layer_result, npu_fraction), F_DOUBLE },
	{ offsetof(sim_layer_result, est_latency_s), F_DOUBLE },
};
#define N_COST_COLS (sizeof cost_cols / sizeof cost_cols[0])

/* The doubles of a network cost, in NCOST_COLS order (macs follows). */
static const size_t ncost_cols[] = {
	offsetof(sim_result, latency_s), offsetof(sim_result, energy_j),
	offsetof(sim_result, cycles), offsetof(sim_result, e_npu_j),
	offsetof(sim_result, e_cim_j), offsetof(sim_result, e_noc_j),
	offsetof(sim_result, e_static_j), offsetof(sim_result, noc_bytes_npu),
	offsetof(sim_result, noc_bytes_cim),
	offsetof(sim_result, cim_weight_bytes),
};
#define N_NCOST (sizeof ncost_cols / sizeof ncost_cols[0])

/* A candidate in a layer_candidates blob: int32 npu_channels, cim_channels,
 * macros, then float64 cim_weight_bytes, max_macro_bytes, est_latency_s,
 * est_energy_j, est_noc_bytes, all little-endian. */
#define CAND_BYTES (3 * 4 + 5 * 8)

/* ---- in-memory tables --------------------------------------------------- */

typedef struct vec {
	void **p;
	size_t n, cap;
} vec;

static void
vec_push(vec *v, void *x)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 64;
		v->p = h4h_xrealloc(v->p, v->cap * sizeof *v->p);
	}
	v->p[v->n++] = x;
}

/* A layer key.  id: layers.id, 0 while unknown; looked: the file was
 * searched and did not hold it (a later flush may insert it). */
typedef struct layer_ent {
	int64_t id;
	int looked;
	uint64_t hash;			/* sim_layer_hash */
	sim_op op;
	long long macs, weight_bytes;
	char key[SIM_LAYER_KEY_MAX];
} layer_ent;

/* A sim_layer as the engine passed it, name aside, so a layer seen before
 * costs a hash and a memcmp instead of formatting its key. */
typedef struct shape_ent {
	sim_layer l;
	layer_ent *le;
} shape_ent;

typedef struct cands_ent {
	int64_t sys;
	layer_ent *le;
	int n, pending;
	sim_cand *c;
} cands_ent;

typedef struct cost_ent {
	int64_t sys;
	layer_ent *le;
	int npu, cim, macros, pending;
	sim_layer_result r;		/* the stored fields only */
} cost_ent;

typedef struct ncost_ent {
	int64_t sys, net;
	sim_objective obj;
	int pending;
	double v[N_NCOST];
	long long macs;
} ncost_ent;

typedef struct sys_ent {
	int64_t id;
	char *canon;
} sys_ent;

/* A network first costed in this process with its cost: the network row
 * and its network_costs row are written together at the next flush. */
typedef struct pnet_ent {
	uint64_t hash;
	char *canon, *name, *arch;
	const char *source;		/* "net" or "arch" */
	int n_layers;
	ncost_ent cost;			/* .net filled in at the flush */
} pnet_ent;

static void pnet_free(void *p);
static int objective_ok(sim_objective obj, h4h_err *err);

/* A network hash known to have costs for the preloaded system. */
typedef struct nethash_ent {
	uint64_t hash;
} nethash_ent;

/* An id known to be in the file, per table (systems, networks). */
typedef struct id_ent {
	int kind;
	int64_t id;
} id_ent;

typedef struct cache_ctx {
	struct h4h_db *db;
	int64_t sys;
} cache_ctx;

struct h4h_db {
	sqlite3 *s;
	char *path;
	int readonly;
	int sticky;			/* first error of a cache callback */
	h4h_err sticky_err;
	int bad_rows;			/* stored rows ignored as invalid */
	h4h_err bad_err;		/* the first of them */
	sqlite3_stmt *st[ST_COUNT];
	h4h_htab layers, shapes, cands, costs, ncosts, systems, ids;
	vec pend_cands, pend_costs, pend_ncosts;
	vec pend_nets;			/* pnet_ent */
	h4h_htab nethashes;		/* nethash_ent, see h4h_db_preload */
	int64_t nethash_sys;		/* the system they were loaded for */
	vec fresh;			/* layers the open batch gave ids */
	vec caches;			/* cache_ctx, one per system */
};

/* ---- errors ------------------------------------------------------------- */

/* Keeps the first error of a callback for the next flush. */
static void
stick(h4h_db *db, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
stick(h4h_db *db, int code, const char *fmt, ...)
{
	va_list ap;
	char raw[sizeof db->sticky_err.msg];

	if (db->sticky != 0)
		return;
	db->sticky = code;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	h4h_escape(db->sticky_err.msg, sizeof db->sticky_err.msg, raw);
}

static void
bad_row(h4h_db *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A stored row that cannot be right: ignored (a cache miss), counted, the
 * first one kept for h4h_db_bad_rows.  The file is left as it is. */
static void
bad_row(h4h_db *db, const char *fmt, ...)
{
	va_list ap;
	char raw[sizeof db->bad_err.msg];

	if (db->bad_rows++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	h4h_escape(db->bad_err.msg, sizeof db->bad_err.msg, raw);
}

/* SQLite's last error as a short phrase of our own: sqlite3_errmsg can
 * quote the schema ("malformed database schema (...)"), which is neither
 * one line nor the user's business. */
static const char *
reason(sqlite3 *s)
{
	int code = s != NULL ? sqlite3_extended_errcode(s) : SQLITE_NOMEM;

	if (code == SQLITE_IOERR_SHMSIZE)
		return "disk full";	/* the -shm file could not grow */
	switch (code & 0xff) {
	case SQLITE_FULL:
		return "disk full";
	case SQLITE_READONLY:
		return "read-only";
	case SQLITE_CANTOPEN:
		return "cannot open it (no such directory, or no permission)";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return "the file is corrupt";
	default:
		return sqlite3_errstr(code);
	}
}

/* Every refused write of a read-only file or place says this. */
#define READONLY_MSG "cannot write '%s': read-only (make the file and its " \
	"directory writable, or use another --db)"

static int
read_err(h4h_db *db, h4h_err *err)
{
	return h4h_errf(err, H4H_EIO, "cannot read '%s': %s", db->path,
	    reason(db->s));
}

/* A full disk or a read-only place loses nothing: the batch is rolled
 * back, what the file held stays, and the message says how to go on. */
static int
write_err(h4h_db *db, h4h_err *err)
{
	switch (sqlite3_extended_errcode(db->s) & 0xff) {
	case SQLITE_FULL:
		return h4h_errf(err, H4H_EIO, "cannot write '%s': disk full "
		    "(what it holds is kept; free some space and run again)",
		    db->path);
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return h4h_errf(err, H4H_EIO, READONLY_MSG, db->path);
	default:
		return h4h_errf(err, H4H_EIO, "cannot write '%s': %s",
		    db->path, reason(db->s));
	}
}

static int
readonly_err(h4h_db *db, h4h_err *err)
{
	return h4h_errf(err, H4H_EIO, READONLY_MSG, db->path);
}

/* ---- small helpers ------------------------------------------------------ */

/* Steps a statement that returns no row and resets it. */
static int
run_st(h4h_db *db, int which)
{
	sqlite3_stmt *st = db->st[which];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = SQLITE_OK;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static void
done_st(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Looks an id up with a one-column statement bound to text ?1:
 * 1 found, 0 not, -1 an SQLite error. */
static int
id_by_text(h4h_db *db, int which, const char *text, int64_t *id)
{
	sqlite3_stmt *st = db->st[which];
	int rc;

	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	done_st(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
id_by_int(h4h_db *db, int which, int64_t key, int64_t *out)
{
	sqlite3_stmt *st = db->st[which];
	int rc;

	sqlite3_bind_int64(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out != NULL)
		*out = sqlite3_column_int64(st, 0);
	done_st(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void
hex64(uint64_t h, char buf[17])
{
	snprintf(buf, 17, "%016llx", (unsigned long long)h);
}

static int
tx_begin(h4h_db *db, h4h_err *err)
{
	if (db->readonly)
		return readonly_err(db, err);
	if (run_st(db, ST_BEGIN) != SQLITE_OK)
		return write_err(db, err);
	return 0;
}

/* Commits if rc is 0, else rolls back; returns the outcome. */
static int
tx_end(h4h_db *db, int rc, h4h_err *err)
{
	if (rc == 0 && run_st(db, ST_COMMIT) != SQLITE_OK)
		rc = write_err(db, err);
	if (rc != 0 && !sqlite3_get_autocommit(db->s))
		run_st(db, ST_ROLLBACK);
	return rc;
}

/* ---- open and close ----------------------------------------------------- */

static const char sqlite_magic[16] = "SQLite format 3";

/* Whether the path holds an SQLite file, before SQLite touches it: 0 with
 * *exists set (an empty file exists, and is a new database), or
 * H4H_EINPUT. */
static int
check_file(const char *path, int *exists, h4h_err *err)
{
	char head[16];
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	*exists = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return h4h_errf(err, H4H_EINPUT, "cannot open database '%s': "
		    "%s", path, strerror(errno));
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return h4h_errf(err, H4H_EINPUT, "'%s' is not an h4h database "
		    "(not a regular file)", path);
	}
	*exists = 1;
	n = sb.st_size > 0 ? read(fd, head, sizeof head) : 0;
	close(fd);
	if (sb.st_size > 0 && (n != (ssize_t)sizeof head ||
	    memcmp(head, sqlite_magic, sizeof head) != 0))
		return h4h_errf(err, H4H_EINPUT, "'%s' is not an h4h database "
		    "(not an SQLite file)", path);
	return 0;
}

static int
pragma_int(sqlite3 *s, const char *sql, int *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* application_id, user_version and the number of tables. */
static int
read_header(sqlite3 *s, int *app, int *version, int *tables)
{
	int rc;

	if ((rc = pragma_int(s, "PRAGMA application_id", app)) != SQLITE_OK ||
	    (rc = pragma_int(s, "PRAGMA user_version", version)) != SQLITE_OK)
		return rc;
	return pragma_int(s, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table'", tables);
}

/* Brings the schema to the current version in one transaction (another
 * process may have done it meanwhile: the header is read again inside). */
static int
migrate(h4h_db *db, h4h_err *err)
{
	char sql[96];
	int app, version, tables, rc;

	if (sqlite3_exec(db->s, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return write_err(db, err);
	rc = read_header(db->s, &app, &version, &tables);
	if (rc != SQLITE_OK) {
		rc = read_err(db, err);
		goto out;
	}
	if (app != H4H_DB_APPLICATION_ID && tables > 0) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s' is an SQLite database of "
		    "another program", db->path);
		goto out;
	}
	if (version > H4H_DB_SCHEMA_VERSION) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s' has schema version %d, "
		    "newer than this h4h supports (%d); upgrade h4h", db->path,
		    version, H4H_DB_SCHEMA_VERSION);
		goto out;
	}
	for (int v = version < 0 ? 0 : version; v < H4H_DB_SCHEMA_VERSION;
	    v++) {
		if (migrations[v](db->s) != SQLITE_OK) {
			rc = h4h_errf(err, H4H_EIO, "cannot upgrade '%s' from "
			    "schema version %d: %s", db->path, v,
			    reason(db->s));
			goto out;
		}
	}
	snprintf(sql, sizeof sql, "PRAGMA application_id = %d; "
	    "PRAGMA user_version = %d", H4H_DB_APPLICATION_ID,
	    H4H_DB_SCHEMA_VERSION);
	if (sqlite3_exec(db->s, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db->s, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = write_err(db, err);
out:
	if (rc != 0 && !sqlite3_get_autocommit(db->s))
		sqlite3_exec(db->s, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* A database in a directory this process cannot write, with no write-ahead
 * log or shared-memory file beside it: no writer of ours can be at work
 * (one would need those files), so the file is read as immutable.  SQLite
 * cannot otherwise open a WAL database where it cannot create PATH-shm. */
static int
frozen_place(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = strlen(path);
	char *dir, *side;
	struct stat sb;
	int frozen;

	dir = slash == NULL ? h4h_xstrdup(".") :
	    h4h_xstrdup(slash == path ? "/" : path);
	if (slash != NULL && slash != path)
		dir[slash - path] = '\0';
	frozen = access(dir, W_OK) != 0 && errno != ENOENT;
	free(dir);
	side = h4h_xmalloc(n + 5);
	memcpy(side, path, n);
	memcpy(side + n, "-wal", 5);
	if (frozen && stat(side, &sb) == 0 && sb.st_size > 0)
		frozen = 0;
	memcpy(side + n, "-shm", 5);
	if (frozen && stat(side, &sb) == 0)
		frozen = 0;
	free(side);
	return frozen;
}

/* "file:PATH?immutable=1" with PATH percent-encoded where a URI needs it. */
static char *
immutable_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	char *u = h4h_xmalloc(3 * strlen(path) + 32), *o = u;

	o += sprintf(o, "file:");
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if (*c == '%' || *c == '?' || *c == '#' || *c < 0x21 ||
		    *c >= 0x7f) {
			*o++ = '%';
			*o++ = hex[*c >> 4];
			*o++ = hex[*c & 15];
		} else {
			*o++ = (char)*c;
		}
	}
	strcpy(o, "?immutable=1");
	return u;
}

int
h4h_db_open(const char *path, int flags, h4h_db **out, h4h_err *err)
{
	h4h_db *db;
	int exists, app, version, tables, oflags, rc;

	*out = NULL;
	if ((rc = check_file(path, &exists, err)) != 0)
		return rc;
	if (!exists && (!(flags & H4H_DB_CREATE) || (flags & H4H_DB_READONLY)))
		return h4h_errf(err, H4H_EINPUT, "cannot open database '%s': "
		    "no such file", path);
	db = h4h_xcalloc(1, sizeof *db);
	db->path = h4h_xstrdup(path);
	oflags = flags & H4H_DB_READONLY ? SQLITE_OPEN_READONLY :
	    exists ? SQLITE_OPEN_READWRITE :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (exists && frozen_place(path)) {
		/* Nobody can write here without the directory (WAL needs its
		 * -shm file there): read the file as it is. */
		char *uri = immutable_uri(path);

		rc = sqlite3_open_v2(uri, &db->s, SQLITE_OPEN_READONLY |
		    SQLITE_OPEN_URI, NULL);
		free(uri);
	} else {
		rc = sqlite3_open_v2(path, &db->s, oflags, NULL);
	}
	if (rc != SQLITE_OK) {
		rc = h4h_errf(err, H4H_EINPUT, "cannot open database '%s': %s",
		    path, reason(db->s));
		goto fail;
	}
	sqlite3_extended_result_codes(db->s, 1);
	sqlite3_busy_timeout(db->s, 30000);
	/* A write-protected file opens read-only even when asked for more. */
	db->readonly = (flags & H4H_DB_READONLY) ||
	    sqlite3_db_readonly(db->s, "main") == 1;
	/* One read transaction: another process may be creating the schema
	 * meanwhile, and its tables must not be seen without its id. */
	rc = sqlite3_exec(db->s, "BEGIN", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = read_header(db->s, &app, &version, &tables);
	if (rc != SQLITE_OK) {
		int prim = sqlite3_extended_errcode(db->s) & 0xff;

		/* Only a file SQLite cannot parse is "not an h4h database": a
		 * full disk or an unwritable directory is said as such. */
		rc = prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB ?
		    h4h_errf(err, H4H_EINPUT, "'%s' is not an h4h database "
		    "(%s)", path, reason(db->s)) :
		    h4h_errf(err, H4H_EIO, "cannot open database '%s': %s",
		    path, reason(db->s));
	}
	if (!sqlite3_get_autocommit(db->s))
		sqlite3_exec(db->s, "COMMIT", NULL, NULL, NULL);
	if (rc != 0)
		goto fail;
	if (app != H4H_DB_APPLICATION_ID && (app != 0 || tables > 0)) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s' is an SQLite database of "
		    "another program", path);
		goto fail;
	}
	if (version > H4H_DB_SCHEMA_VERSION) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s' has schema version %d, "
		    "newer than this h4h supports (%d); upgrade h4h", path,
		    version, H4H_DB_SCHEMA_VERSION);
		goto fail;
	}
	if (app != H4H_DB_APPLICATION_ID || version < H4H_DB_SCHEMA_VERSION) {
		if (db->readonly) {
			rc = app != H4H_DB_APPLICATION_ID ?
			    h4h_errf(err, H4H_EINPUT, "'%s' is not an h4h "
			    "database (empty)", path) :
			    h4h_errf(err, H4H_EINPUT, "'%s' has schema version "
			    "%d, older than this h4h's (%d); open it for "
			    "writing once to upgrade it", path, version,
			    H4H_DB_SCHEMA_VERSION);
			goto fail;
		}
	}
	if (!db->readonly) {
		/* Before the first write: WAL lets readers run beside one
		 * writer, NORMAL syncs at checkpoints only (a power cut may
		 * lose the last batches, never corrupt the file). */
		sqlite3_exec(db->s, "PRAGMA journal_mode = WAL", NULL, NULL,
		    NULL);
		if ((app != H4H_DB_APPLICATION_ID ||
		    version < H4H_DB_SCHEMA_VERSION) &&
		    (rc = migrate(db, err)) != 0)
			goto fail;
	}
	if (sqlite3_exec(db->s, "PRAGMA foreign_keys = ON; "
	    "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
		rc = read_err(db, err);
		goto fail;
	}
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(db->s, st_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->st[i], NULL) != SQLITE_OK) {
			rc = h4h_errf(err, H4H_EINPUT, "'%s' is not an h4h "
			    "database of schema version %d (%s)", path,
			    H4H_DB_SCHEMA_VERSION, reason(db->s));
			goto fail;
		}
	}
	*out = db;
	return 0;
fail:
	h4h_db_close(db);
	return rc;
}

static void
free_cands(void *p)
{
	cands_ent *c = p;

	free(c->c);
	free(c);
}

static void
free_sys(void *p)
{
	sys_ent *s = p;

	free(s->canon);
	free(s);
}

void
h4h_db_close(h4h_db *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->s);
	h4h_htab_free(&db->layers, free);
	h4h_htab_free(&db->shapes, free);
	h4h_htab_free(&db->cands, free_cands);
	h4h_htab_free(&db->costs, free);
	h4h_htab_free(&db->ncosts, free);
	h4h_htab_free(&db->systems, free_sys);
	h4h_htab_free(&db->ids, free);
	h4h_htab_free(&db->nethashes, free);
	for (size_t i = 0; i < db->pend_nets.n; i++)
		pnet_free(db->pend_nets.p[i]);
	free(db->pend_nets.p);
	free(db->pend_cands.p);
	free(db->pend_costs.p);
	free(db->pend_ncosts.p);
	free(db->fresh.p);
	for (size_t i = 0; i < db->caches.n; i++)
		free(db->caches.p[i]);
	free(db->caches.p);
	free(db->path);
	free(db);
}

const char *
h4h_db_path(const h4h_db *db)
{
	return db->path;
}

/* ---- identities --------------------------------------------------------- */

enum { ID_SYSTEM, ID_NETWORK };

static int
id_eq(const void *item, const void *key)
{
	const id_ent *a = item, *b = key;

	return a->kind == b->kind && a->id == b->id;
}

static void
id_remember(h4h_db *db, int kind, int64_t id)
{
	id_ent k = { kind, id }, *e;
	uint64_t h = h4h_hash_mix((uint64_t)kind, (uint64_t)id);

	if (h4h_htab_find(&db->ids, h, id_eq, &k) != NULL)
		return;
	e = h4h_xmalloc(sizeof *e);
	*e = k;
	h4h_htab_add(&db->ids, h, e);
}

/* Whether a system or network id is in the file (H4H_EINPUT if not). */
static int
id_check(h4h_db *db, int kind, int64_t id, h4h_err *err)
{
	id_ent k = { kind, id };
	int rc;

	if (h4h_htab_find(&db->ids, h4h_hash_mix((uint64_t)kind, (uint64_t)id),
	    id_eq, &k) != NULL)
		return 0;
	rc = id_by_int(db, kind == ID_SYSTEM ? ST_SYS_EXISTS : ST_NET_EXISTS,
	    id, NULL);
	if (rc < 0)
		return read_err(db, err);
	if (rc == 0)
		return h4h_errf(err, H4H_EINPUT, "'%s' has no %s with id %lld",
		    db->path, kind == ID_SYSTEM ? "system" : "network",
		    (long long)id);
	id_remember(db, kind, id);
	return 0;
}

static int
sys_eq(const void *item, const void *key)
{
	return strcmp(((const sys_ent *)item)->canon, key) == 0;
}

/* Insert-or-get of a canonical text, in its own transaction; the first
 * writer's labels are kept. */
static int
identity(h4h_db *db, int find, int insert, const char *canon,
    void (*bind)(sqlite3_stmt *, const void *), const void *arg,
    int64_t *id, h4h_err *err)
{
	int rc = id_by_text(db, find, canon, id);

	if (rc < 0)
		return read_err(db, err);
	if (rc == 1)
		return 0;
	if (db->readonly)
		return h4h_errf(err, H4H_EINPUT, "'%s' is read-only and "
		    "it does not hold this %s (make the file and its "
		    "directory writable, or use another --db)", db->path,
		    find == ST_SYS_ID ? "system" : "network");
	if ((rc = tx_begin(db, err)) != 0)
		return rc;
	bind(db->st[insert], arg);
	if (run_st(db, insert) != SQLITE_OK)
		rc = write_err(db, err);
	else if ((rc = id_by_text(db, find, canon, id)) != 1)
		rc = rc < 0 ? read_err(db, err) : write_err(db, err);
	else
		rc = 0;
	return tx_end(db, rc, err);
}

typedef struct sys_args {
	const char *hash, *canon, *name;
} sys_args;

static void
bind_sys(sqlite3_stmt *st, const void *arg)
{
	const sys_args *a = arg;

	sqlite3_bind_text(st, 1, a->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->canon, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, SIM_MODEL_REVISION);
}

int
h4h_db_system(h4h_db *db, const sim_profile *p, int64_t *id, h4h_err *err)
{
	char *canon = sim_profile_canon(p), hash[17];
	uint64_t h = h4h_hash64(canon, strlen(canon), H4H_HASH_SEED);
	sys_ent *e = h4h_htab_find(&db->systems, h, sys_eq, canon);
	sys_args a = { hash, canon, p->name };
	int rc;

	if (e != NULL) {
		*id = e->id;
		free(canon);
		return 0;
	}
	hex64(h, hash);
	rc = identity(db, ST_SYS_ID, ST_SYS_INSERT, canon, bind_sys, &a, id,
	    err);
	if (rc != 0) {
		free(canon);
		return rc;
	}
	e = h4h_xmalloc(sizeof *e);
	e->id = *id;
	e->canon = canon;
	h4h_htab_add(&db->systems, h, e);
	id_remember(db, ID_SYSTEM, *id);
	return 0;
}

typedef struct net_args {
	const char *hash, *canon, *name, *source, *arch;
	int n_layers;
	long long macs;
} net_args;

static void
bind_net(sqlite3_stmt *st, const void *arg)
{
	const net_args *a = arg;

	sqlite3_bind_text(st, 1, a->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->canon, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->source, -1, SQLITE_STATIC);
	if (a->arch != NULL)
		sqlite3_bind_text(st, 5, a->arch, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, a->n_layers);
	sqlite3_bind_int64(st, 7, a->macs);
}

/* No memo: a network's canonical text costs more to keep than to look up
 * in the file's unique index (callers that repeat networks memoize them by
 * sim_net_hash, as the oracle does). */
int
h4h_db_network(h4h_db *db, const sim_net *net, const char *source,
    const char *arch_json, int64_t *id, h4h_err *err)
{
	char *canon, hash[17];
	net_args a;
	int rc;

	if (source == NULL || (strcmp(source, "net") != 0 &&
	    strcmp(source, "arch") != 0))
		return h4h_errf(err, H4H_EINPUT, "network source must be 'net' "
		    "or 'arch' (got '%s')", source ? source : "(null)");
	canon = sim_net_canon(net);
	hex64(sim_net_hash(net), hash);
	a = (net_args){ hash, canon, net->name, source, arch_json,
	    net->n_layers, 0 };
	for (int i = 0; i < net->n_layers; i++)
		a.macs += sim_layer_macs(&net->layers[i]);
	rc = identity(db, ST_NET_ID, ST_NET_INSERT, canon, bind_net, &a, id,
	    err);
	free(canon);
	if (rc == 0)
		id_remember(db, ID_NETWORK, *id);
	return rc;
}

static int
nethash_eq(const void *item, const void *key)
{
	return ((const nethash_ent *)item)->hash == *(const uint64_t *)key;
}

int
h4h_db_net_cost_find(h4h_db *db, int64_t system_id, const sim_net *net,
    sim_objective obj, double *latency_s, double *energy_j, int *found,
    h4h_err *err)
{
	uint64_t h = sim_net_hash(net);
	char *canon;
	int64_t id;
	int rc;

	*found = 0;
	/* After h4h_db_preload: a hash the file has no cost for, and that is
	 * not waiting for the flush, is a network never costed here. */
	if (db->nethash_sys == system_id &&
	    h4h_htab_find(&db->nethashes, h, nethash_eq, &h) == NULL)
		return 0;
	canon = sim_net_canon(net);
	for (size_t i = 0; i < db->pend_nets.n; i++) {
		pnet_ent *e = db->pend_nets.p[i];

		if (e->hash == h && e->cost.sys == system_id &&
		    e->cost.obj == obj && strcmp(e->canon, canon) == 0) {
			free(canon);
			*latency_s = e->cost.v[0];
			*energy_j = e->cost.v[1];
			*found = 1;
			return 0;
		}
	}
	rc = id_by_text(db, ST_NET_ID, canon, &id);
	free(canon);
	if (rc < 0)
		return read_err(db, err);
	if (rc == 0)
		return 0;
	id_remember(db, ID_NETWORK, id);
	return h4h_db_net_cost_get(db, system_id, id, obj, latency_s, energy_j,
	    found, err);
}

int
h4h_db_net_cost_put_net(h4h_db *db, int64_t system_id, const sim_net *net,
    const char *source, const char *arch_json, const sim_result *r,
    h4h_err *err)
{
	pnet_ent *e;
	uint64_t h;
	int rc;

	if (db->readonly)
		return readonly_err(db, err);
	if (source == NULL || (strcmp(source, "net") != 0 &&
	    strcmp(source, "arch") != 0))
		return h4h_errf(err, H4H_EINPUT, "network source must be 'net' "
		    "or 'arch' (got '%s')", source ? source : "(null)");
	if ((rc = objective_ok(r->objective, err)) != 0 ||
	    (rc = id_check(db, ID_SYSTEM, system_id, err)) != 0)
		return rc;
	e = h4h_xcalloc(1, sizeof *e);
	for (size_t i = 0; i < N_NCOST; i++) {
		double v = *(const double *)((const char *)r + ncost_cols[i]);

		if (isnan(v)) {
			free(e);
			return h4h_errf(err, H4H_ESIM, "network '%s' on system "
			    "%lld: a cost is not a number, not stored",
			    net->name, (long long)system_id);
		}
		e->cost.v[i] = v == 0 ? 0.0 : v;
	}
	h = sim_net_hash(net);
	e->hash = h;
	e->canon = sim_net_canon(net);
	e->name = h4h_xstrdup(net->name);
	e->arch = arch_json ? h4h_xstrdup(arch_json) : NULL;
	e->source = strcmp(source, "arch") == 0 ? "arch" : "net";
	e->n_layers = net->n_layers;
	e->cost.sys = system_id;
	e->cost.obj = r->objective;
	e->cost.macs = r->macs;
	e->cost.pending = 1;
	vec_push(&db->pend_nets, e);
	if (db->nethash_sys == system_id &&
	    h4h_htab_find(&db->nethashes, h, nethash_eq, &h) == NULL) {
		nethash_ent *n = h4h_xmalloc(sizeof *n);

		n->hash = h;
		h4h_htab_add(&db->nethashes, h, n);
	}
	return 0;
}

/* ---- the layer memo ----------------------------------------------------- */

static int
shape_eq(const void *item, const void *key)
{
	const shape_ent *s = item;

	/* The fields of the key only: the same layer at another place in
	 * another network (other inputs, other name) is the same entry. */
	return sim_layer_same_key(&s->l, key);
}

static int
layer_eq(const void *item, const void *key)
{
	return strcmp(((const layer_ent *)item)->key, key) == 0;
}

/* The entry of l's key, created on first sight (in memory only).  Equal
 * fields (name aside) give equal keys, so a shape hit needs no key text;
 * a miss formats the key and compares it in full. */
static layer_ent *
layer_of(h4h_db *db, const sim_layer *l)
{
	uint64_t h = sim_layer_hash(l);
	shape_ent *s = h4h_htab_find(&db->shapes, h, shape_eq, l);
	char key[SIM_LAYER_KEY_MAX];
	layer_ent *le;

	if (s != NULL)
		return s->le;
	sim_layer_key(l, key, sizeof key);
	le = h4h_htab_find(&db->layers, h, layer_eq, key);
	if (le == NULL) {
		le = h4h_xcalloc(1, sizeof *le);
		le->hash = h;
		le->op = l->op;
		le->macs = sim_layer_macs(l);
		le->weight_bytes = sim_layer_weight_bytes(l);
		memcpy(le->key, key, sizeof key);
		h4h_htab_add(&db->layers, h, le);
	}
	s = h4h_xcalloc(1, sizeof *s);
	s->l = *l;
	memset(s->l.name, 0, sizeof s->l.name);
	s->le = le;
	h4h_htab_add(&db->shapes, h, s);
	return le;
}

/* Whether the file knows the layer (its id then set); -1 on a read error
 * (stuck on the handle). */
static int
layer_known(h4h_db *db, layer_ent *le)
{
	int rc;

	if (le->id > 0)
		return 1;
	if (le->looked)
		return 0;
	rc = id_by_text(db, ST_LAYER_ID, le->key, &le->id);
	if (rc < 0) {
		stick(db, H4H_EIO, "cannot read '%s': %s", db->path,
		    reason(db->s));
		return -1;
	}
	le->looked = rc == 0;
	return rc;
}

/* Inside the open batch: the layer's id, inserted if new. */
static int
layer_id_tx(h4h_db *db, layer_ent *le, h4h_err *err)
{
	sqlite3_stmt *st = db->st[ST_LAYER_INSERT];
	char hash[17];
	int rc;

	if (le->id > 0)
		return 0;
	hex64(le->hash, hash);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, le->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sim_op_name(le->op), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, le->macs);
	sqlite3_bind_int64(st, 5, le->weight_bytes);
	if (run_st(db, ST_LAYER_INSERT) != SQLITE_OK)
		return write_err(db, err);
	rc = id_by_text(db, ST_LAYER_ID, le->key, &le->id);
	if (rc != 1)
		return rc < 0 ? read_err(db, err) : write_err(db, err);
	vec_push(&db->fresh, le);
	return 0;
}

/* ---- candidates --------------------------------------------------------- */

static uint64_t
cands_hash(int64_t sys, const layer_ent *le)
{
	return h4h_hash_mix(h4h_hash_mix((uint64_t)sys, (uint64_t)(uintptr_t)le),
	    1);
}

static int
cands_eq(const void *item, const void *key)
{
	const cands_ent *a = item, *b = key;

	return a->sys == b->sys && a->le == b->le;
}

static void
pack_cands(const sim_cand *c, int n, unsigned char *b)
{
	for (int i = 0; i < n; i++, b += CAND_BYTES) {
		h4h_le_put32(b, (uint32_t)c[i].npu_channels);
		h4h_le_put32(b + 4, (uint32_t)c[i].cim_channels);
		h4h_le_put32(b + 8, (uint32_t)c[i].macros);
		h4h_le_put_f64(b + 12, c[i].cim_weight_bytes);
		h4h_le_put_f64(b + 20, c[i].max_macro_bytes);
		h4h_le_put_f64(b + 28, c[i].est_latency_s);
		h4h_le_put_f64(b + 36, c[i].est_energy_j);
		h4h_le_put_f64(b + 44, c[i].est_noc_bytes);
	}
}

static void
unpack_cands(const unsigned char *b, int n, sim_cand *c)
{
	for (int i = 0; i < n; i++, b += CAND_BYTES) {
		c[i].npu_channels = (int32_t)h4h_le_get32(b);
		c[i].cim_channels = (int32_t)h4h_le_get32(b + 4);
		c[i].macros = (int32_t)h4h_le_get32(b + 8);
		c[i].cim_weight_bytes = h4h_le_get_f64(b + 12);
		c[i].max_macro_bytes = h4h_le_get_f64(b + 20);
		c[i].est_latency_s = h4h_le_get_f64(b + 28);
		c[i].est_energy_j = h4h_le_get_f64(b + 36);
		c[i].est_noc_bytes = h4h_le_get_f64(b + 44);
	}
}

/* A blob of `bytes` can hold n packed candidates: size_t arithmetic, so
 * that no n wraps around to a matching length. */
static int
cands_size_ok(sqlite3_int64 n, int bytes)
{
	return n > 0 && n <= INT_MAX / CAND_BYTES && bytes > 0 &&
	    (size_t)bytes == (size_t)n * CAND_BYTES;
}

/* A candidate list read from the file (blob of n packed candidates), kept
 * in memory from now on. */
static cands_ent *
cands_remember(h4h_db *db, int64_t sys, layer_ent *le, int n,
    const void *blob)
{
	cands_ent *ce = h4h_xcalloc(1, sizeof *ce);

	ce->sys = sys;
	ce->le = le;
	ce->n = n;
	ce->c = h4h_xcalloc((size_t)n, sizeof *ce->c);
	unpack_cands(blob, n, ce->c);
	h4h_htab_add(&db->cands, cands_hash(sys, le), ce);
	return ce;
}

static cands_ent *
cands_load(h4h_db *db, int64_t sys, layer_ent *le)
{
	sqlite3_stmt *st = db->st[ST_CANDS_GET];
	cands_ent *ce = NULL;
	int rc;

	if (layer_known(db, le) != 1)
		return NULL;
	sqlite3_bind_int64(st, 1, sys);
	sqlite3_bind_int64(st, 2, le->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		sqlite3_int64 n = sqlite3_column_int64(st, 0);
		const void *blob = sqlite3_column_blob(st, 1);
		int bytes = sqlite3_column_bytes(st, 1);

		if (!cands_size_ok(n, bytes)) {
			bad_row(db, "'%s': layer_candidates of system %lld, "
			    "layer %lld: %d bytes for %lld candidates",
			    db->path, (long long)sys, (long long)le->id, bytes,
			    (long long)n);
		} else {
			ce = cands_remember(db, sys, le, n, blob);
		}
	} else if (rc != SQLITE_DONE) {
		stick(db, H4H_EIO, "cannot read '%s': %s", db->path,
		    reason(db->s));
	}
	done_st(st);
	return ce;
}

static int
cache_get_cands(void *ctx, const sim_layer *l, const sim_cand **c, int *n)
{
	cache_ctx *cx = ctx;
	h4h_db *db = cx->db;
	layer_ent *le = layer_of(db, l);
	cands_ent key = { .sys = cx->sys, .le = le }, *ce;

	ce = h4h_htab_find(&db->cands, cands_hash(cx->sys, le), cands_eq, &key);
	if (ce == NULL && (ce = cands_load(db, cx->sys, le)) == NULL)
		return 0;
	*c = ce->c;
	*n = ce->n;
	return 1;
}

static void
cache_bad_cands(void *ctx, const sim_layer *l, const char *why)
{
	cache_ctx *cx = ctx;
	h4h_db *db = cx->db;
	layer_ent *le = layer_of(db, l);

	bad_row(db, "'%s': layer_candidates of system %lld, layer %lld: %s",
	    db->path, (long long)cx->sys, (long long)le->id, why);
}

static void
cache_put_cands(void *ctx, const sim_layer *l, const sim_cand *c, int n)
{
	cache_ctx *cx = ctx;
	h4h_db *db = cx->db;
	layer_ent *le = layer_of(db, l);
	uint64_t h = cands_hash(cx->sys, le);
	cands_ent key = { .sys = cx->sys, .le = le }, *ce;

	if (n <= 0 || h4h_htab_find(&db->cands, h, cands_eq, &key) != NULL)
		return;
	ce = h4h_xcalloc(1, sizeof *ce);
	*ce = key;
	ce->n = n;
	ce->c = h4h_xmalloc((size_t)n * sizeof *c);
	memcpy(ce->c, c, (size_t)n * sizeof *c);
	h4h_htab_add(&db->cands, h, ce);
	if (db->readonly) {
		stick(db, H4H_EIO, READONLY_MSG, db->path);
		return;
	}
	ce->pending = 1;
	vec_push(&db->pend_cands, ce);
}

static int
cands_write(h4h_db *db, cands_ent *ce, h4h_err *err)
{
	sqlite3_stmt *st = db->st[ST_CANDS_PUT];
	size_t bytes = (size_t)ce->n * CAND_BYTES;
	unsigned char *blob;
	int rc;

	if ((rc = layer_id_tx(db, ce->le, err)) != 0)
		return rc;
	blob = h4h_xmalloc(bytes);
	pack_cands(ce->c, ce->n, blob);
	sqlite3_bind_int64(st, 1, ce->sys);
	sqlite3_bind_int64(st, 2, ce->le->id);
	sqlite3_bind_int(st, 3, ce->n);
	sqlite3_bind_blob(st, 4, blob, (int)bytes, SQLITE_STATIC);
	rc = run_st(db, ST_CANDS_PUT);
	free(blob);
	return rc == SQLITE_OK ? 0 : write_err(db, err);
}

/* ---- layer costs -------------------------------------------------------- */

static uint64_t
cost_hash(int64_t sys, const layer_ent *le, const sim_cand *c)
{
	uint64_t h = h4h_hash_mix((uint64_t)sys, (uint64_t)(uintptr_t)le);

	h = h4h_hash_mix(h, (uint64_t)(uint32_t)c->npu_channels);
	h = h4h_hash_mix(h, (uint64_t)(uint32_t)c->cim_channels);
	return h4h_hash_mix(h, (uint64_t)(uint32_t)c->macros);
}

static int
cost_eq(const void *item, const void *key)
{
	const cost_ent *a = item, *b = key;

	return a->sys == b->sys && a->le == b->le && a->npu == b->npu &&
	    a->cim == b->cim && a->macros == b->macros;
}

static double *
cost_dbl(sim_layer_result *r, size_t i)
{
	return (double *)((char *)r + cost_cols[i].off);
}

/* The stored fields of r, as the file returns them: 1, or 0 if one is NaN
 * (SQLite would store NULL). */
static int
cost_stored(const sim_layer_result *r, const sim_cand *split,
    sim_layer_result *out)
{
	memset(out, 0, sizeof *out);
	out->npu_channels = split->npu_channels;
	out->cim_channels = split->cim_channels;
	out->macros = split->macros;
	out->end_ps = r->end_ps - r->start_ps;
	out->macs = r->macs;
	for (size_t i = 0; i < N_COST_COLS; i++) {
		double v;

		if (cost_cols[i].type != F_DOUBLE)
			continue;
		v = *cost_dbl((sim_layer_result *)r, i);
		if (isnan(v))
			return 0;
		*cost_dbl(out, i) = v == 0 ? 0.0 : v;
	}
	return 1;
}

static void
cost_bind(sqlite3_stmt *st, int col, sim_layer_result *r)
{
	for (size_t i = 0; i < N_COST_COLS; i++, col++) {
		const char *p = (const char *)r + cost_cols[i].off;

		switch (cost_cols[i].type) {
		case F_DOUBLE:
			sqlite3_bind_double(st, col, *(const double *)p);
			break;
		case F_U64:
			sqlite3_bind_int64(st, col,
			    (sqlite3_int64)*(const uint64_t *)p);
			break;
		default:
			sqlite3_bind_int64(st, col, *(const long long *)p);
			break;
		}
	}
}

static void
cost_column(sqlite3_stmt *st, int col, sim_layer_result *r)
{
	for (size_t i = 0; i < N_COST_COLS; i++, col++) {
		char *p = (char *)r + cost_cols[i].off;

		switch (cost_cols[i].type) {
		case F_DOUBLE:
			*(double *)p = sqlite3_column_double(st, col);
			break;
		case F_U64:
			*(uint64_t *)p =
			    (uint64_t)sqlite3_column_int64(st, col);
			break;
		default:
			*(long long *)p = sqlite3_column_int64(st, col);
			break;
		}
	}
}

/* A split's cost read from the file (its value columns start at column
 * col of st's row), kept in memory from now on. */
static cost_ent *
cost_remember(h4h_db *db, int64_t sys, layer_ent *le, const sim_cand *c,
    sqlite3_stmt *st, int col)
{
	cost_ent *ce = h4h_xcalloc(1, sizeof *ce);

	ce->sys = sys;
	ce->le = le;
	ce->npu = ce->r.npu_channels = c->npu_channels;
	ce->cim = ce->r.cim_channels = c->cim_channels;
	ce->macros = ce->r.macros = c->macros;
	cost_column(st, col, &ce->r);
	/* Every stored figure is a finite count, time or energy >= 0. */
	for (size_t i = 0; i < N_COST_COLS; i++) {
		const char *f = (const char *)&ce->r + cost_cols[i].off;
		double v = cost_cols[i].type == F_DOUBLE ? *(const double *)f :
		    cost_cols[i].type == F_LL ? (double)*(const long long *)f :
		    0;

		if (!isfinite(v) || v < 0) {
			bad_row(db, "'%s': layer_costs of system %lld, layer "
			    "%lld, split %d/%d/%d: column %zu is %g", db->path,
			    (long long)sys, (long long)le->id, c->npu_channels,
			    c->cim_channels, c->macros, i, v);
			free(ce);
			return NULL;
		}
	}
	h4h_htab_add(&db->costs, cost_hash(sys, le, c), ce);
	return ce;
}

static cost_ent *
cost_load(h4h_db *db, int64_t sys, layer_ent *le, const sim_cand *c)
{
	sqlite3_stmt *st = db->st[ST_COST_GET];
	cost_ent *ce = NULL;
	int rc;

	if (layer_known(db, le) != 1)
		return NULL;
	sqlite3_bind_int64(st, 1, sys);
	sqlite3_bind_int64(st, 2, le->id);
	sqlite3_bind_int(st, 3, c->npu_channels);
	sqlite3_bind_int(st, 4, c->cim_channels);
	sqlite3_bind_int(st, 5, c->macros);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ce = cost_remember(db, sys, le, c, st, 0);
	} else if (rc != SQLITE_DONE) {
		stick(db, H4H_EIO, "cannot read '%s': %s", db->path,
		    reason(db->s));
	}
	done_st(st);
	return ce;
}

static int
cache_get_cost(void *ctx, const sim_layer *l, const sim_cand *split,
    sim_layer_result *r)
{
	cache_ctx *cx = ctx;
	h4h_db *db = cx->db;
	layer_ent *le = layer_of(db, l);
	cost_ent key = { .sys = cx->sys, .le = le, .npu = split->npu_channels,
	    .cim = split->cim_channels, .macros = split->macros }, *ce;
	const sim_layer *keep = r->layer;

	ce = h4h_htab_find(&db->costs, cost_hash(cx->sys, le, split), cost_eq,
	    &key);
	if (ce == NULL && (ce = cost_load(db, cx->sys, le, split)) == NULL)
		return 0;
	*r = ce->r;
	r->layer = keep;
	return 1;
}

static void
cache_put_cost(void *ctx, const sim_layer *l, const sim_cand *split,
    const sim_layer_result *r)
{
	cache_ctx *cx = ctx;
	h4h_db *db = cx->db;
	layer_ent *le = layer_of(db, l);
	uint64_t h = cost_hash(cx->sys, le, split);
	cost_ent key = { .sys = cx->sys, .le = le, .npu = split->npu_channels,
	    .cim = split->cim_channels, .macros = split->macros }, *ce;

	if (h4h_htab_find(&db->costs, h, cost_eq, &key) != NULL)
		return;
	ce = h4h_xmalloc(sizeof *ce);
	*ce = key;
	if (!cost_stored(r, split, &ce->r)) {
		stick(db, H4H_ESIM, "layer '%s' (%s), split %d/%d/%d: a cost "
		    "is not a number, not stored", l->name, le->key,
		    split->npu_channels, split->cim_channels, split->macros);
		free(ce);
		return;
	}
	h4h_htab_add(&db->costs, h, ce);
	if (db->readonly) {
		stick(db, H4H_EIO, READONLY_MSG, db->path);
		return;
	}
	ce->pending = 1;
	vec_push(&db->pend_costs, ce);
}

static int
cost_write(h4h_db *db, cost_ent *ce, h4h_err *err)
{
	sqlite3_stmt *st = db->st[ST_COST_PUT];
	int rc;

	if ((rc = layer_id_tx(db, ce->le, err)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, ce->sys);
	sqlite3_bind_int64(st, 2, ce->le->id);
	sqlite3_bind_int(st, 3, ce->npu);
	sqlite3_bind_int(st, 4, ce->cim);
	sqlite3_bind_int(st, 5, ce->macros);
	cost_bind(st, 6, &ce->r);
	return run_st(db, ST_COST_PUT) == SQLITE_OK ? 0 : write_err(db, err);
}

int
h4h_db_cache(h4h_db *db, int64_t system_id, sim_cache *out, h4h_err *err)
{
	cache_ctx *cx = NULL;
	int rc;

	for (size_t i = 0; i < db->caches.n && cx == NULL; i++)
		if (((cache_ctx *)db->caches.p[i])->sys == system_id)
			cx = db->caches.p[i];
	if (cx == NULL) {
		if ((rc = id_check(db, ID_SYSTEM, system_id, err)) != 0)
			return rc;
		cx = h4h_xmalloc(sizeof *cx);
		cx->db = db;
		cx->sys = system_id;
		vec_push(&db->caches, cx);
	}
	out->ctx = cx;
	out->get_cands = cache_get_cands;
	out->put_cands = cache_put_cands;
	out->get_cost = cache_get_cost;
	out->put_cost = cache_put_cost;
	out->bad_cands = cache_bad_cands;
	return 0;
}

int
h4h_db_bad_rows(const h4h_db *db, const char **first)
{
	*first = db->bad_rows > 0 ? db->bad_err.msg : NULL;
	return db->bad_rows;
}

/* ---- preload ------------------------------------------------------------ */

/* A step through a one-off statement; 0 when it ran to the end. */
static int
each_row(h4h_db *db, const char *sql, int64_t sys,
    void (*row)(h4h_db *, sqlite3_stmt *, void *), void *ctx, h4h_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->s, sql, -1, &st, NULL) != SQLITE_OK)
		return read_err(db, err);
	if (sys > 0)
		sqlite3_bind_int64(st, 1, sys);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		row(db, st, ctx);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : read_err(db, err);
}

typedef struct preload_ctx {
	int64_t sys;
	layer_ent **by_id;	/* layers.id -> entry */
	int64_t max_id;
} preload_ctx;

static void
preload_layer(h4h_db *db, sqlite3_stmt *st, void *vctx)
{
	preload_ctx *ctx = vctx;
	int64_t id = sqlite3_column_int64(st, 0);
	const char *key = (const char *)sqlite3_column_text(st, 1);
	uint64_t h;
	layer_ent *le;
	int op;

	if (id <= 0 || id > ctx->max_id || key == NULL ||
	    strlen(key) >= SIM_LAYER_KEY_MAX ||
	    (op = sim_op_from_name((const char *)sqlite3_column_text(st,
	    2))) < 0)
		return;		/* not ours to judge here: loaded on demand */
	h = strtoull((const char *)sqlite3_column_text(st, 3), NULL, 16);
	le = h4h_htab_find(&db->layers, h, layer_eq, key);
	if (le == NULL) {
		le = h4h_xcalloc(1, sizeof *le);
		le->hash = h;
		le->op = op;
		le->macs = sqlite3_column_int64(st, 4);
		le->weight_bytes = sqlite3_column_int64(st, 5);
		snprintf(le->key, sizeof le->key, "%s", key);
		h4h_htab_add(&db->layers, h, le);
	}
	if (le->id <= 0)
		le->id = id;
	ctx->by_id[id] = le;
}

static void
preload_cands(h4h_db *db, sqlite3_stmt *st, void *vctx)
{
	preload_ctx *ctx = vctx;
	int64_t id = sqlite3_column_int64(st, 0);
	int n = sqlite3_column_int(st, 1);
	const void *blob = sqlite3_column_blob(st, 2);
	layer_ent *le;
	cands_ent key;

	if (id <= 0 || id > ctx->max_id || (le = ctx->by_id[id]) == NULL)
		return;
	if (!cands_size_ok(sqlite3_column_int64(st, 1),
	    sqlite3_column_bytes(st, 2))) {
		bad_row(db, "'%s': layer_candidates of system %lld, layer "
		    "%lld: %d bytes for %lld candidates", db->path,
		    (long long)ctx->sys, (long long)id,
		    sqlite3_column_bytes(st, 2),
		    (long long)sqlite3_column_int64(st, 1));
		return;
	}
	key.sys = ctx->sys;
	key.le = le;
	if (h4h_htab_find(&db->cands, cands_hash(ctx->sys, le), cands_eq,
	    &key) != NULL)
		return;
	cands_remember(db, ctx->sys, le, n, blob);
}

static void
preload_cost(h4h_db *db, sqlite3_stmt *st, void *vctx)
{
	preload_ctx *ctx = vctx;
	int64_t id = sqlite3_column_int64(st, 0);
	sim_cand c;
	layer_ent *le;
	cost_ent key;

	if (id <= 0 || id > ctx->max_id || (le = ctx->by_id[id]) == NULL)
		return;
	memset(&c, 0, sizeof c);
	c.npu_channels = sqlite3_column_int(st, 1);
	c.cim_channels = sqlite3_column_int(st, 2);
	c.macros = sqlite3_column_int(st, 3);
	key.sys = ctx->sys;
	key.le = le;
	key.npu = c.npu_channels;
	key.cim = c.cim_channels;
	key.macros = c.macros;
	if (h4h_htab_find(&db->costs, cost_hash(ctx->sys, le, &c), cost_eq,
	    &key) != NULL)
		return;
	cost_remember(db, ctx->sys, le, &c, st, 4);
}

static void
preload_nethash(h4h_db *db, sqlite3_stmt *st, void *vctx)
{
	const char *hex = (const char *)sqlite3_column_text(st, 0);
	uint64_t h;
	nethash_ent *n;

	(void)vctx;
	if (hex == NULL)
		return;
	h = strtoull(hex, NULL, 16);
	if (h4h_htab_find(&db->nethashes, h, nethash_eq, &h) != NULL)
		return;
	n = h4h_xmalloc(sizeof *n);
	n->hash = h;
	h4h_htab_add(&db->nethashes, h, n);
}

int
h4h_db_preload(h4h_db *db, int64_t system_id, h4h_err *err)
{
	preload_ctx ctx = { system_id, NULL, 0 };
	sqlite3_stmt *st;
	int rc;

	if ((rc = id_check(db, ID_SYSTEM, system_id, err)) != 0)
		return rc;
	if (sqlite3_prepare_v2(db->s, "SELECT COALESCE(MAX(id), 0) FROM "
	    "layers", -1, &st, NULL) != SQLITE_OK)
		return read_err(db, err);
	if (sqlite3_step(st) == SQLITE_ROW)
		ctx.max_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	ctx.by_id = h4h_xcalloc((size_t)ctx.max_id + 1, sizeof *ctx.by_id);
	/* One read transaction: a consistent snapshot of the three tables. */
	rc = sqlite3_exec(db->s, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 :
	    read_err(db, err);
	if (rc == 0)
		rc = each_row(db, "SELECT id, key, op, hash, macs, weight_bytes "
		    "FROM layers", 0, preload_layer, &ctx, err);
	if (rc == 0)
		rc = each_row(db, "SELECT layer_id, n, cands FROM "
		    "layer_candidates WHERE system_id = ?1", system_id,
		    preload_cands, &ctx, err);
	if (rc == 0)
		rc = each_row(db, "SELECT layer_id, npu_channels, cim_channels, "
		    "macros, " COST_COLS " FROM layer_costs WHERE system_id = ?1",
		    system_id, preload_cost, &ctx, err);
	if (rc == 0 && db->nethash_sys != system_id) {
		h4h_htab_free(&db->nethashes, free);
		rc = each_row(db, "SELECT DISTINCT n.hash FROM networks n JOIN "
		    "network_costs c ON c.network_id = n.id WHERE "
		    "c.system_id = ?1", system_id, preload_nethash, &ctx, err);
		if (rc == 0)
			db->nethash_sys = system_id;
	}
	sqlite3_exec(db->s, "COMMIT", NULL, NULL, NULL);
	free(ctx.by_id);
	return rc;
}

/* ---- network costs ------------------------------------------------------ */

static uint64_t
ncost_hash(int64_t sys, int64_t net, sim_objective obj)
{
	return h4h_hash_mix(h4h_hash_mix((uint64_t)sys, (uint64_t)net),
	    (uint64_t)obj + 2);
}

static int
ncost_eq(const void *item, const void *key)
{
	const ncost_ent *a = item, *b = key;

	return a->sys == b->sys && a->net == b->net && a->obj == b->obj;
}

static int
objective_ok(sim_objective obj, h4h_err *err)
{
	if (obj != SIM_OBJ_LATENCY && obj != SIM_OBJ_ENERGY &&
	    obj != SIM_OBJ_EDP)
		return h4h_errf(err, H4H_EINPUT, "unknown objective %d",
		    (int)obj);
	return 0;
}

int
h4h_db_net_cost_get(h4h_db *db, int64_t system_id, int64_t network_id,
    sim_objective obj, double *latency_s, double *energy_j, int *found,
    h4h_err *err)
{
	ncost_ent key = { .sys = system_id, .net = network_id, .obj = obj };
	uint64_t h = ncost_hash(system_id, network_id, obj);
	ncost_ent *ce = h4h_htab_find(&db->ncosts, h, ncost_eq, &key);
	sqlite3_stmt *st = db->st[ST_NCOST_GET];
	int rc;

	*found = 0;
	if (ce == NULL) {
		if ((rc = objective_ok(obj, err)) != 0)
			return rc;
		sqlite3_bind_int64(st, 1, system_id);
		sqlite3_bind_int64(st, 2, network_id);
		sqlite3_bind_text(st, 3, sim_objective_name(obj), -1,
		    SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			ce = h4h_xcalloc(1, sizeof *ce);
			*ce = key;
			for (size_t i = 0; i < N_NCOST; i++)
				ce->v[i] = sqlite3_column_double(st, (int)i);
			ce->macs = sqlite3_column_int64(st, (int)N_NCOST);
			h4h_htab_add(&db->ncosts, h, ce);
		} else if (rc != SQLITE_DONE) {
			rc = read_err(db, err);
			done_st(st);
			return rc;
		}
		done_st(st);
		if (ce == NULL)
			return 0;
	}
	*latency_s = ce->v[0];
	*energy_j = ce->v[1];
	*found = 1;
	return 0;
}

int
h4h_db_net_cost_put(h4h_db *db, int64_t system_id, int64_t network_id,
    const sim_result *r, h4h_err *err)
{
	ncost_ent key = { .sys = system_id, .net = network_id,
	    .obj = r->objective }, *ce;
	uint64_t h = ncost_hash(system_id, network_id, r->objective);
	int rc;

	if ((rc = objective_ok(r->objective, err)) != 0 ||
	    (rc = id_check(db, ID_SYSTEM, system_id, err)) != 0 ||
	    (rc = id_check(db, ID_NETWORK, network_id, err)) != 0)
		return rc;
	if (h4h_htab_find(&db->ncosts, h, ncost_eq, &key) != NULL)
		return 0;
	if (db->readonly) {
		/* Already stored is not a write: a read-only file serves a
		 * run it holds entirely. */
		double lat, en;
		int found;

		if ((rc = h4h_db_net_cost_get(db, system_id, network_id,
		    r->objective, &lat, &en, &found, err)) != 0)
			return rc;
		return found ? 0 : readonly_err(db, err);
	}
	ce = h4h_xmalloc(sizeof *ce);
	*ce = key;
	for (size_t i = 0; i < N_NCOST; i++) {
		double v = *(const double *)((const char *)r + ncost_cols[i]);

		if (isnan(v)) {
			free(ce);
			return h4h_errf(err, H4H_ESIM, "network %lld on system "
			    "%lld: a cost is not a number, not stored",
			    (long long)network_id, (long long)system_id);
		}
		ce->v[i] = v == 0 ? 0.0 : v;
	}
	ce->macs = r->macs;
	ce->pending = 1;
	h4h_htab_add(&db->ncosts, h, ce);
	vec_push(&db->pend_ncosts, ce);
	return 0;
}

static int
ncost_write(h4h_db *db, ncost_ent *ce, h4h_err *err)
{
	sqlite3_stmt *st = db->st[ST_NCOST_PUT];

	sqlite3_bind_int64(st, 1, ce->sys);
	sqlite3_bind_int64(st, 2, ce->net);
	sqlite3_bind_text(st, 3, sim_objective_name(ce->obj), -1,
	    SQLITE_STATIC);
	for (size_t i = 0; i < N_NCOST; i++)
		sqlite3_bind_double(st, 4 + (int)i, ce->v[i]);
	sqlite3_bind_int64(st, 4 + (int)N_NCOST, ce->macs);
	return run_st(db, ST_NCOST_PUT) == SQLITE_OK ? 0 : write_err(db, err);
}

/* ---- flush -------------------------------------------------------------- */

static int
pending_any(const h4h_db *db)
{
	return db->pend_cands.n + db->pend_costs.n + db->pend_ncosts.n +
	    db->pend_nets.n > 0;
}

/* Writes everything pending into the open transaction. */
static void
pnet_free(void *p)
{
	pnet_ent *e = p;

	if (e == NULL)
		return;
	free(e->canon);
	free(e->name);
	free(e->arch);
	free(e);
}

/* The network row (inserted if new) and then its cost. */
static int
pnet_write(h4h_db *db, pnet_ent *e, h4h_err *err)
{
	char hash[17];
	net_args a;
	int rc;

	hex64(e->hash, hash);
	a = (net_args){ hash, e->canon, e->name, e->source, e->arch,
	    e->n_layers, e->cost.macs };
	bind_net(db->st[ST_NET_INSERT], &a);
	if (run_st(db, ST_NET_INSERT) != SQLITE_OK)
		return write_err(db, err);
	rc = id_by_text(db, ST_NET_ID, e->canon, &e->cost.net);
	if (rc != 1)
		return rc < 0 ? read_err(db, err) : write_err(db, err);
	return ncost_write(db, &e->cost, err);
}

static int
write_pending(h4h_db *db, h4h_err *err)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < db->pend_cands.n; i++)
		rc = cands_write(db, db->pend_cands.p[i], err);
	for (size_t i = 0; rc == 0 && i < db->pend_costs.n; i++)
		rc = cost_write(db, db->pend_costs.p[i], err);
	for (size_t i = 0; rc == 0 && i < db->pend_ncosts.n; i++)
		rc = ncost_write(db, db->pend_ncosts.p[i], err);
	for (size_t i = 0; rc == 0 && i < db->pend_nets.n; i++)
		rc = pnet_write(db, db->pend_nets.p[i], err);
	return rc;
}

/* After the batch: committed items are no longer pending; a rolled-back
 * batch keeps them and forgets the layer ids it handed out. */
static void
settle(h4h_db *db, int committed)
{
	if (committed) {
		for (size_t i = 0; i < db->pend_cands.n; i++)
			((cands_ent *)db->pend_cands.p[i])->pending = 0;
		for (size_t i = 0; i < db->pend_costs.n; i++)
			((cost_ent *)db->pend_costs.p[i])->pending = 0;
		for (size_t i = 0; i < db->pend_ncosts.n; i++)
			((ncost_ent *)db->pend_ncosts.p[i])->pending = 0;
		db->pend_cands.n = db->pend_costs.n = db->pend_ncosts.n = 0;
		for (size_t i = 0; i < db->pend_nets.n; i++)
			pnet_free(db->pend_nets.p[i]);
		db->pend_nets.n = 0;
	} else {
		for (size_t i = 0; i < db->fresh.n; i++) {
			layer_ent *le = db->fresh.p[i];

			le->id = 0;
			le->looked = 0;
		}
	}
	db->fresh.n = 0;
}

/* The error a cache callback left, reported once. */
static int
take_sticky(h4h_db *db, h4h_err *err)
{
	int rc = db->sticky;

	if (rc == 0)
		return 0;
	db->sticky = 0;
	return h4h_errf(err, rc, "%s", db->sticky_err.msg);
}

typedef int (*tx_extra)(h4h_db *db, const void *arg, h4h_err *err);

/* One batch: the pending items and, if given, extra's writes. */
static int
write_batch(h4h_db *db, tx_extra extra, const void *arg, h4h_err *err)
{
	int rc;

	if ((rc = take_sticky(db, err)) != 0)
		return rc;
	if (extra == NULL && !pending_any(db))
		return 0;
	if ((rc = tx_begin(db, err)) != 0)
		return rc;
	rc = write_pending(db, err);
	if (rc == 0 && extra != NULL)
		rc = extra(db, arg, err);
	rc = tx_end(db, rc, err);
	settle(db, rc == 0);
	return rc;
}

int
h4h_db_flush(h4h_db *db, h4h_err *err)
{
	return write_batch(db, NULL, NULL, err);
}

/* ---- sweeps ------------------------------------------------------------- */

static int
sweep_points(h4h_db *db, int64_t sweep_id, int64_t *n, h4h_err *err)
{
	int rc = id_by_int(db, ST_SWEEP_NPOINTS, sweep_id, n);

	if (rc < 0)
		return read_err(db, err);
	if (rc == 0)
		return h4h_errf(err, H4H_EINPUT, "'%s' has no sweep with id "
		    "%lld", db->path, (long long)sweep_id);
	return 0;
}

/* A one-off statement with one integer parameter. */
static int
exec_int64(h4h_db *db, const char *sql, int64_t v)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(db->s, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, v);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
h4h_db_sweep_begin(h4h_db *db, const char *args, int n_points,
    const char *const *point_params, int64_t *sweep_id, int *created,
    h4h_err *err)
{
	sqlite3_stmt *st = db->st[ST_SWEEP_FIND];
	int rc, step;

	*created = 0;
	if (n_points < 0 || (n_points > 0 && point_params == NULL))
		return h4h_errf(err, H4H_EINPUT, "a sweep needs its points' "
		    "parameters (got %d points)", n_points);
	if ((rc = tx_begin(db, err)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, args, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		int have = sqlite3_column_int(st, 1);

		*sweep_id = sqlite3_column_int64(st, 0);
		done_st(st);
		if (have != n_points)
			rc = h4h_errf(err, H4H_EINPUT, "sweep %lld in '%s' has "
			    "the same arguments but %d points, not %d",
			    (long long)*sweep_id, db->path, have, n_points);
		/* Beginning a sweep again retries the points that failed. */
		if (rc == 0 && exec_int64(db, "UPDATE runs SET status = "
		    "'pending', error = NULL, pid = NULL WHERE sweep_id = ?1 AND "
		    "status = 'failed'", *sweep_id) != SQLITE_OK)
			rc = write_err(db, err);
		return tx_end(db, rc, err);
	}
	done_st(st);
	if (step != SQLITE_DONE)
		return tx_end(db, read_err(db, err), err);
	st = db->st[ST_SWEEP_INSERT];
	sqlite3_bind_text(st, 1, args, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, n_points);
	if (run_st(db, ST_SWEEP_INSERT) != SQLITE_OK)
		return tx_end(db, write_err(db, err), err);
	*sweep_id = sqlite3_last_insert_rowid(db->s);
	st = db->st[ST_RUN_INSERT];
	for (int i = 0; i < n_points && rc == 0; i++) {
		sqlite3_bind_int64(st, 1, *sweep_id);
		sqlite3_bind_int(st, 2, i);
		sqlite3_bind_text(st, 3, point_params[i] ? point_params[i] : "",
		    -1, SQLITE_STATIC);
		if (run_st(db, ST_RUN_INSERT) != SQLITE_OK)
			rc = write_err(db, err);
	}
	rc = tx_end(db, rc, err);
	*created = rc == 0;
	return rc;
}

/* A process that no longer exists (EPERM: it exists, another user's). */
static int
pid_dead(sqlite3_int64 pid)
{
	if (pid <= 0 || pid != (pid_t)pid)
		return 1;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int
h4h_db_run_claim(h4h_db *db, int64_t sweep_id, int *point, h4h_err *err)
{
	sqlite3_stmt *st;
	int64_t n;
	vec dead = { 0 };
	int rc, step;

	*point = -1;
	if ((rc = sweep_points(db, sweep_id, &n, err)) != 0 ||
	    (rc = tx_begin(db, err)) != 0)
		return rc;
	/* Points left 'running' by a process that died go back to pending
	 * (collected first: no update while the select is open). */
	st = db->st[ST_RUN_RUNNING];
	sqlite3_bind_int64(st, 1, sweep_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_type(st, 1) == SQLITE_NULL ||
		    pid_dead(sqlite3_column_int64(st, 1)))
			vec_push(&dead, (void *)(intptr_t)sqlite3_column_int(st,
			    0));
	done_st(st);
	if (step != SQLITE_DONE)
		rc = read_err(db, err);
	st = db->st[ST_RUN_RESET];
	for (size_t i = 0; rc == 0 && i < dead.n; i++) {
		sqlite3_bind_int64(st, 1, sweep_id);
		sqlite3_bind_int(st, 2, (int)(intptr_t)dead.p[i]);
		if (run_st(db, ST_RUN_RESET) != SQLITE_OK)
			rc = write_err(db, err);
	}
	free(dead.p);
	if (rc == 0) {
		st = db->st[ST_RUN_NEXT];
		sqlite3_bind_int64(st, 1, sweep_id);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			*point = sqlite3_column_int(st, 0);
		else if (step != SQLITE_DONE)
			rc = read_err(db, err);
		done_st(st);
	}
	if (rc == 0 && *point >= 0) {
		st = db->st[ST_RUN_START];
		sqlite3_bind_int64(st, 1, sweep_id);
		sqlite3_bind_int(st, 2, *point);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)getpid());
		if (run_st(db, ST_RUN_START) != SQLITE_OK)
			rc = write_err(db, err);
	}
	rc = tx_end(db, rc, err);
	if (rc != 0)
		*point = -1;
	return rc;
}

typedef struct run_args {
	int64_t sweep_id, system_id, network_id;
	int point;
	const char *message;
} run_args;

/* Marks a run done or failed; H4H_EINPUT if the sweep has no such point. */
static int
run_mark(h4h_db *db, const void *arg, h4h_err *err)
{
	const run_args *a = arg;
	int which = a->message != NULL ? ST_RUN_FAIL : ST_RUN_DONE;
	sqlite3_stmt *st = db->st[which];

	sqlite3_bind_int64(st, 1, a->sweep_id);
	sqlite3_bind_int(st, 2, a->point);
	if (a->message != NULL) {
		sqlite3_bind_text(st, 3, a->message, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_int64(st, 3, a->system_id);
		sqlite3_bind_int64(st, 4, a->network_id);
	}
	if (run_st(db, which) != SQLITE_OK)
		return write_err(db, err);
	if (sqlite3_changes(db->s) != 1)
		return h4h_errf(err, H4H_EINPUT, "sweep %lld in '%s' has no "
		    "point %d", (long long)a->sweep_id, db->path, a->point);
	return 0;
}

int
h4h_db_run_finish(h4h_db *db, int64_t sweep_id, int point,
    int64_t system_id, int64_t network_id, h4h_err *err)
{
	run_args a = { sweep_id, system_id, network_id, point, NULL };

	return write_batch(db, run_mark, &a, err);
}

/* Only the run: what is pending stays for the next flush. */
int
h4h_db_run_fail(h4h_db *db, int64_t sweep_id, int point,
    const char *message, h4h_err *err)
{
	run_args a = { sweep_id, 0, 0, point, message ? message : "" };
	int rc;

	if ((rc = tx_begin(db, err)) != 0)
		return rc;
	return tx_end(db, run_mark(db, &a, err), err);
}

int
h4h_db_sweep_progress(h4h_db *db, int64_t sweep_id, int *done,
    int *failed, int *total, h4h_err *err)
{
	sqlite3_stmt *st = db->st[ST_SWEEP_PROGRESS];
	int64_t n;
	int rc;

	if ((rc = sweep_points(db, sweep_id, &n, err)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, sweep_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*total = sqlite3_column_int(st, 0);
		*done = sqlite3_column_int(st, 1);
		*failed = sqlite3_column_int(st, 2);
	}
	done_st(st);
	return rc == SQLITE_ROW ? 0 : read_err(db, err);
}

int
h4h_db_sweep_end(h4h_db *db, int64_t sweep_id, h4h_err *err)
{
	int64_t n;
	int rc;

	if ((rc = sweep_points(db, sweep_id, &n, err)) != 0 ||
	    (rc = tx_begin(db, err)) != 0)
		return rc;
	sqlite3_bind_int64(db->st[ST_SWEEP_END], 1, sweep_id);
	if (run_st(db, ST_SWEEP_END) != SQLITE_OK)
		rc = write_err(db, err);
	return tx_end(db, rc, err);
}

/* ---- queries ------------------------------------------------------------ */

/* Pragmas that only read; the others may write or change the connection. */
static const char *const read_pragmas[] = { "table_info", "table_xinfo",
    "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check",
    "quick_check", "database_list", "collation_list", "function_list",
    "pragma_list", "compile_options", "page_count", "page_size",
    "freelist_count", "application_id", "user_version", "schema_version",
    "journal_mode", "foreign_keys", "encoding" };
/* Of those, the ones whose argument is not a new value to set. */
static const char *const arg_pragmas[] = { "table_info", "table_xinfo",
    "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check",
    "quick_check" };

static int
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (sqlite3_stricmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* While a user's query is prepared and run: reading only. */
static int
read_only_auth(void *ctx, int action, const char *a, const char *b,
    const char *dbname, const char *trigger)
{
	(void)ctx;
	(void)dbname;
	(void)trigger;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_UPDATE:
		/* SQLite asks this while it sets up an eponymous virtual
		 * table (pragma_table_info(...)); a real UPDATE of the schema
		 * table needs writable_schema, and the statement would not be
		 * read-only anyway (checked after prepare). */
		return sqlite3_stricmp(a, "sqlite_master") == 0 ?
		    SQLITE_OK : SQLITE_DENY;
	case SQLITE_PRAGMA:
		if (in_list(a, read_pragmas, sizeof read_pragmas /
		    sizeof *read_pragmas) && (b == NULL || in_list(a,
		    arg_pragmas, sizeof arg_pragmas / sizeof *arg_pragmas)))
			return SQLITE_OK;
		return SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

/* The fewest digits that read back to the same double, marked as a real
 * (".0") when they look like an integer, as SQLite prints them. */
static void
fmt_double(double v, char *buf, size_t n)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (isfinite(v) && strpbrk(buf, ".e") == NULL &&
	    strlen(buf) + 3 <= n)
		strcat(buf, ".0");
}

/* A column as text: doubles exactly, blobs in hex.  buf holds 32 bytes or
 * more; a blob's hex goes to *heap (the caller frees it). */
static const char *
column_text(sqlite3_stmt *st, int i, char *buf, size_t n, char **heap)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_FLOAT:
		fmt_double(sqlite3_column_double(st, i), buf, n);
		return buf;
	case SQLITE_BLOB: {
		const unsigned char *b = sqlite3_column_blob(st, i);
		int len = sqlite3_column_bytes(st, i);
		char *h = h4h_xmalloc(2 * (size_t)len + 1);

		for (int k = 0; k < len; k++)
			snprintf(h + 2 * k, 3, "%02x", b[k]);
		h[2 * len] = '\0';
		*heap = h;
		return h;
	}
	default:
		return (const char *)sqlite3_column_text(st, i);
	}
}

int
h4h_db_select(h4h_db *db, const char *sql, h4h_db_row_fn fn, void *ctx,
    h4h_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL, **names = NULL, **values = NULL;
	char (*bufs)[32] = NULL, **heap = NULL;
	int rc, ncol, step;

	sqlite3_set_authorizer(db->s, read_only_auth, NULL);
	rc = sqlite3_prepare_v2(db->s, sql, -1, &st, &tail);
	if ((rc & 0xff) == SQLITE_AUTH || (rc == SQLITE_OK && st != NULL &&
	    !sqlite3_stmt_readonly(st))) {
		rc = h4h_errf(err, H4H_EINPUT, "query must be read-only: %s",
		    sql);
		goto out;
	}
	if (rc != SQLITE_OK) {
		rc = h4h_errf(err, H4H_EINPUT, "query: %s",
		    sqlite3_errmsg(db->s));
		goto out;
	}
	if (st == NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "query is empty");
		goto out;
	}
	tail += strspn(tail, " \t\r\n;");
	if (*tail != '\0') {
		rc = h4h_errf(err, H4H_EINPUT, "query must be one statement "
		    "(extra text: '%.40s')", tail);
		goto out;
	}
	ncol = sqlite3_column_count(st);
	names = h4h_xcalloc((size_t)ncol + 1, sizeof *names);
	values = h4h_xcalloc((size_t)ncol + 1, sizeof *values);
	bufs = h4h_xcalloc((size_t)ncol + 1, sizeof *bufs);
	heap = h4h_xcalloc((size_t)ncol + 1, sizeof *heap);
	for (int i = 0; i < ncol; i++)
		names[i] = sqlite3_column_name(st, i);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int stop;

		for (int i = 0; i < ncol; i++)
			values[i] = column_text(st, i, bufs[i], sizeof bufs[i],
			    &heap[i]);
		stop = fn(ctx, ncol, names, values);
		for (int i = 0; i < ncol; i++) {
			free(heap[i]);
			heap[i] = NULL;
		}
		if (stop)
			break;
	}
	rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 :
	    h4h_errf(err, H4H_EINPUT, "query: %s", sqlite3_errmsg(db->s));
out:
	sqlite3_finalize(st);
	sqlite3_set_authorizer(db->s, NULL, NULL);
	free(names);
	free(values);
	free(bufs);
	free(heap);
	return rc;
}

/* ---- reports ------------------------------------------------------------ */

static int
count_rows(h4h_db *db, const char *table, long long *n)
{
	char sql[96];
	sqlite3_stmt *st;
	int rc;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(db->s, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Prints a header of `heads` (space-separated) and the rows of sql, one
 * line each, as the format's columns (i: integer, right-aligned; s: text,
 * left-aligned; '-' for NULL).  Columns are at least 10 (i) or 20 (s)
 * wide and as wide as their longest value, so long names stay aligned. */
static int
print_rows(h4h_db *db, FILE *f, const char *sql, const char *fmt,
    const char *heads)
{
	char hbuf[256], *h[16], *save = NULL;
	int w[16], n = (int)strlen(fmt), rc;
	sqlite3_stmt *st;

	snprintf(hbuf, sizeof hbuf, "%s", heads);
	for (int i = 0; i < n && i < 16; i++) {
		h[i] = strtok_r(i == 0 ? hbuf : NULL, " ", &save);
		w[i] = fmt[i] == 'i' ? 10 : 20;
		if (h[i] != NULL && (int)strlen(h[i]) > w[i])
			w[i] = (int)strlen(h[i]);
	}
	if (sqlite3_prepare_v2(db->s, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		for (int i = 0; i < n && i < 16; i++) {
			const char *t =
			    (const char *)sqlite3_column_text(st, i);

			if (t != NULL && (int)strlen(t) > w[i])
				w[i] = (int)strlen(t);
		}
	if (rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_reset(st);
	fputs(" ", f);
	for (int i = 0; i < n && i < 16; i++)
		fprintf(f, fmt[i] == 'i' ? " %*s" : " %-*s", w[i],
		    h[i] ? h[i] : "");
	fputs("\n", f);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fputs(" ", f);
		for (int i = 0; i < n && i < 16; i++) {
			const char *t =
			    (const char *)sqlite3_column_text(st, i);

			fprintf(f, fmt[i] == 'i' ? " %*s" : " %-*s", w[i],
			    t ? t : "-");
		}
		fputs("\n", f);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
h4h_db_summary(h4h_db *db, FILE *f, h4h_err *err)
{
	long long n;

	fprintf(f, "database '%s' (schema version %d)\n", db->path,
	    H4H_DB_SCHEMA_VERSION);
	fputs("rows:", f);
	for (size_t i = 0; i < N_TABLES; i++) {
		if (count_rows(db, table_names[i], &n) != 0)
			return read_err(db, err);
		fprintf(f, " %s %lld%s", table_names[i], n,
		    i + 1 < N_TABLES ? "," : "\n");
	}
	fprintf(f, "model revisions (this build: %d; costs of other revisions "
	    "are kept, never reused):\n", SIM_MODEL_REVISION);
	if (print_rows(db, f, "SELECT s.model_revision, count(*), (SELECT "
	    "count(*) FROM layer_costs c JOIN systems t ON t.id = c.system_id "
	    "WHERE t.model_revision = s.model_revision) FROM systems s GROUP "
	    "BY s.model_revision ORDER BY s.model_revision", "iii",
	    "revision systems layer_costs") != 0)
		return read_err(db, err);
	fputs("systems:\n", f);
	if (print_rows(db, f, "SELECT s.id, s.name, s.hash, (SELECT count(*) "
	    "FROM layer_costs c WHERE c.system_id = s.id), s.model_revision "
	    "FROM systems s ORDER BY s.id", "issii",
	    "id name hash layer_costs revision") != 0)
		return read_err(db, err);
	fputs("networks:\n", f);
	if (print_rows(db, f, "SELECT id, name, n_layers, macs FROM networks "
	    "ORDER BY id", "isii", "id name layers macs") != 0)
		return read_err(db, err);
	fputs("sweeps:\n", f);
	if (print_rows(db, f, "SELECT w.id, (SELECT count(*) FROM runs r "
	    "WHERE r.sweep_id = w.id AND r.status = 'done') || '/' || "
	    "w.n_points, w.status FROM sweeps w ORDER BY w.id", "iss",
	    "id done/total status") != 0)
		return read_err(db, err);
	if (ferror(f))
		return h4h_errf(err, H4H_EIO, "cannot write the summary: %s",
		    strerror(errno));
	return 0;
}

static void
csv_field(FILE *f, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Every row of a prepared statement, as CSV (a header line, RFC 4180
 * quoting) or a JSON array of objects (numbers as numbers). */
static int
export_rows(h4h_db *db, sqlite3_stmt *st, int json, FILE *f, h4h_err *err)
{
	int ncol = sqlite3_column_count(st), rows = 0, step;
	char buf[40];

	if (json) {
		fputs("[", f);
	} else {
		for (int i = 0; i < ncol; i++) {
			if (i > 0)
				fputc(',', f);
			csv_field(f, sqlite3_column_name(st, i));
		}
		fputs("\n", f);
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (json)
			fputs(rows > 0 ? ",\n  {" : "\n  {", f);
		for (int i = 0; i < ncol; i++) {
			int type = sqlite3_column_type(st, i);
			char *heap = NULL;
			const char *t = column_text(st, i, buf, sizeof buf,
			    &heap);

			if (!json) {
				if (i > 0)
					fputc(',', f);
				csv_field(f, t);
				free(heap);
				continue;
			}
			if (i > 0)
				fputs(", ", f);
			json_string(f, sqlite3_column_name(st, i));
			fputs(": ", f);
			if (t == NULL || (type == SQLITE_FLOAT &&
			    !isfinite(sqlite3_column_double(st, i))))
				fputs("null", f);
			else if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
				fputs(t, f);
			else
				json_string(f, t);
			free(heap);
		}
		if (json)
			fputs("}", f);
		else
			fputs("\n", f);
		rows++;
	}
	if (json)
		fputs(rows > 0 ? "\n]\n" : "]\n", f);
	if (step != SQLITE_DONE)
		return read_err(db, err);
	if (ferror(f))
		return h4h_errf(err, H4H_EIO, "cannot write the export: %s",
		    strerror(errno));
	return 0;
}

static int
parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v <= 0)
		return -1;
	*id = v;
	return 0;
}

/* For a spreadsheet: one column per key the sweep varies (its "vary K="
 * lines), holding the value from each point's params, and one for the
 * network ("net"), appended to the export's columns. */
static int
varied_columns(h4h_db *db, int64_t sweep_id, char *out, size_t size,
    h4h_err *err)
{
	static const char *word = "substr(' ' || r.params || ' ', instr(' ' || "
	    "r.params || ' ', ' %s=') + %d)";
	sqlite3_stmt *st;
	const char *args, *line;
	char name[1024] = "";		/* SQL for the point's system name */
	size_t n = 0, nn = 0;
	int rc, named = 0;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db->s, "SELECT args FROM sweeps WHERE id = ?1",
	    -1, &st, NULL) != SQLITE_OK)
		return read_err(db, err);
	sqlite3_bind_int64(st, 1, sweep_id);
	rc = sqlite3_step(st);
	args = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) :
	    NULL;
	for (line = args; line != NULL && *line != '\0'; ) {
		const char *end = strchr(line, '\n'), *eq;
		char key[64], rest[256];
		size_t k;

		if (end == NULL)
			end = line + strlen(line);
		if (strncmp(line, "name ", 5) == 0 && nn == 0) {
			char base[128], *q;

			snprintf(base, sizeof base, "%.*s", (int)(end - line - 5),
			    line + 5);
			q = sqlite3_mprintf("%Q", base);
			nn = (size_t)snprintf(name, sizeof name, "%s", q);
			sqlite3_free(q);
		}
		eq = memchr(line, '=', (size_t)(end - line));
		if (strncmp(line, "vary ", 5) == 0 && eq != NULL &&
		    (k = (size_t)(eq - line - 5)) > 0 && k < sizeof key) {
			memcpy(key, line + 5, k);
			key[k] = '\0';
			/* Profile keys only: no quoting needed below. */
			if (strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_.")
			    == k) {
				const char *dot = strchr(key, '.');

				snprintf(rest, sizeof rest, word, key,
				    (int)k + 2);
				n += (size_t)snprintf(out + n, n < size ?
				    size - n : 0, ", substr(%s, 1, instr(%s, "
				    "' ') - 1) AS \"%s\"", rest, rest, key);
				/* h4h sweep's point name: BASE:key=v,... */
				if (nn > 0 && nn < sizeof name)
					nn += (size_t)snprintf(name + nn,
					    sizeof name - nn, " || '%c%s=' || "
					    "substr(%s, 1, instr(%s, ' ') - 1)",
					    named++ ? ',' : ':',
					    dot ? dot + 1 : key, rest, rest);
			}
		}
		line = *end ? end + 1 : end;
	}
	if (nn > 0 && nn < sizeof name)
		n += (size_t)snprintf(out + n, n < size ? size - n : 0,
		    ", %s AS system", name);
	if (args != NULL) {
		char rest[256];

		snprintf(rest, sizeof rest, word, "net", 5);
		n += (size_t)snprintf(out + n, n < size ? size - n : 0,
		    ", CASE WHEN instr(' ' || r.params, ' net=') > 0 THEN "
		    "substr(%s, 1, instr(%s, ' ') - 1) END AS net", rest, rest);
	}
	sqlite3_finalize(st);
	if (n >= size)
		return h4h_errf(err, H4H_EINPUT, "sweep %lld varies too many "
		    "keys to export", (long long)sweep_id);
	return 0;
}

int
h4h_db_export(h4h_db *db, const char *what, const char *format, FILE *f,
    h4h_err *err)
{
	char sql[4096], extra[2560];
	const char *arg = what ? strchr(what, ':') : NULL;
	sqlite3_stmt *st = NULL;
	int64_t id = 0, n;
	int json, rc;

	if (format == NULL || (strcmp(format, "csv") != 0 &&
	    strcmp(format, "json") != 0))
		return h4h_errf(err, H4H_EINPUT, "unknown export format '%s' "
		    "(csv or json)", format ? format : "");
	json = strcmp(format, "json") == 0;
	if (arg == NULL)
		goto bad;
	arg++;
	if (strncmp(what, "table:", 6) == 0) {
		if (!in_list(arg, table_names, N_TABLES)) {
			char names[400];
			size_t k = 0;

			for (size_t i = 0; i < N_TABLES && k < sizeof names; i++)
				k += (size_t)snprintf(names + k, sizeof names - k,
				    "%s%s", i ? ", " : "", table_names[i]);
			return h4h_errf(err, H4H_EINPUT, "unknown table '%s' "
			    "in '%s' (one of %s)", arg, what, names);
		}
		snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", arg);
	} else if (strncmp(what, "sweep:", 6) == 0) {
		if (parse_id(arg, &id) != 0)
			goto bad;
		if ((rc = sweep_points(db, id, &n, err)) != 0)
			return rc;
		/* One row per point: the cost of the objective the point's
		 * params name (other objectives' costs of the same system
		 * and network may be stored too); params without an
		 * objective= word (not written by h4h sweep) join them all. */
		if ((rc = varied_columns(db, id, extra, sizeof extra,
		    err)) != 0)
			return rc;
		snprintf(sql, sizeof sql, "SELECT r.point, r.params, r.status, "
		    "r.system_id, r.network_id, c.objective, c.latency_s, "
		    "c.energy_j, c.e_npu_j, c.e_cim_j, c.e_noc_j, "
		    "c.e_static_j, r.error, s.hash AS system_hash, "
		    "s.model_revision%s FROM runs r LEFT JOIN systems s ON "
		    "s.id = r.system_id LEFT JOIN network_costs "
		    "c ON c.system_id = r.system_id AND c.network_id = "
		    "r.network_id AND (' ' || r.params || ' ' NOT LIKE "
		    "'%% objective=%%' OR ' ' || r.params || ' ' LIKE "
		    "'%% objective=' || c.objective || ' %%') "
		    "WHERE r.sweep_id = ?1 ORDER BY r.point", extra);
	} else if (strncmp(what, "network:", 8) == 0) {
		if (parse_id(arg, &id) != 0)
			goto bad;
		if ((rc = id_check(db, ID_NETWORK, id, err)) != 0)
			return rc;
		snprintf(sql, sizeof sql, "SELECT c.system_id, s.name AS "
		    "system, c.objective, c.latency_s, c.energy_j, c.cycles, "
		    "c.e_npu_j, c.e_cim_j, c.e_noc_j, c.e_static_j, "
		    "c.noc_bytes_npu, c.noc_bytes_cim, c.macs, "
		    "c.cim_weight_bytes, c.created_at FROM network_costs c "
		    "JOIN systems s ON s.id = c.system_id WHERE c.network_id "
		    "= ?1 ORDER BY c.system_id, c.objective");
	} else {
		goto bad;
	}
	if (sqlite3_prepare_v2(db->s, sql, -1, &st, NULL) != SQLITE_OK)
		return read_err(db, err);
	if (id > 0)
		sqlite3_bind_int64(st, 1, id);
	rc = export_rows(db, st, json, f, err);
	sqlite3_finalize(st);
	return rc;
bad:
	return h4h_errf(err, H4H_EINPUT, "unknown export selector '%s' "
	    "(sweep:ID, network:ID or table:NAME)", what ? what : "");
}

/* ---- supernet training logs (schema v2) ----------------------------------- */

int
h4h_db_train_run(h4h_db *db, const char *space, const char *recipe,
    uint64_t seed, const char *settings, int64_t *run, h4h_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db->readonly)
		return readonly_err(db, err);
	if ((rc = tx_begin(db, err)) != 0)
		return rc;
	if (sqlite3_prepare_v2(db->s, "INSERT INTO train_runs (space, recipe, "
	    "seed, settings) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	    -1, &st, NULL) != SQLITE_OK)
		return tx_end(db, write_err(db, err), err);
	sqlite3_bind_text(st, 1, space, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, recipe, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)seed);
	sqlite3_bind_text(st, 4, settings, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : write_err(db, err);
	sqlite3_finalize(st);
	st = NULL;
	if (rc == 0 && sqlite3_prepare_v2(db->s, "SELECT id FROM train_runs "
	    "WHERE space = ?1 AND recipe = ?2 AND seed = ?3 AND settings = ?4",
	    -1, &st, NULL) != SQLITE_OK)
		rc = read_err(db, err);
	if (rc == 0) {
		sqlite3_bind_text(st, 1, space, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, recipe, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)seed);
		sqlite3_bind_text(st, 4, settings, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			*run = sqlite3_column_int64(st, 0);
		else
			rc = read_err(db, err);
	}
	sqlite3_finalize(st);
	return tx_end(db, rc, err);
}

int
h4h_db_train_epoch(h4h_db *db, int64_t run, const h4h_db_train_row *r,
    h4h_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db->readonly)
		return readonly_err(db, err);
	if ((rc = tx_begin(db, err)) != 0)
		return rc;
	if (sqlite3_prepare_v2(db->s, "INSERT OR REPLACE INTO train_epochs "
	    "(run_id, phase, epoch, step, train_loss, train_acc, kd_loss, "
	    "max_val_acc, min_val_acc, seconds, img_per_s) VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", -1, &st, NULL) != SQLITE_OK)
		return tx_end(db, write_err(db, err), err);
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int(st, 2, r->phase);
	sqlite3_bind_int(st, 3, r->epoch);
	sqlite3_bind_int64(st, 4, r->step);
	sqlite3_bind_double(st, 5, r->train_loss);
	sqlite3_bind_double(st, 6, r->train_acc);
	sqlite3_bind_double(st, 7, r->kd_loss);
	if (r->max_val_acc >= 0)
		sqlite3_bind_double(st, 8, r->max_val_acc);
	if (r->min_val_acc >= 0)
		sqlite3_bind_double(st, 9, r->min_val_acc);
	sqlite3_bind_double(st, 10, r->seconds);
	sqlite3_bind_double(st, 11, r->img_per_s);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : write_err(db, err);
	sqlite3_finalize(st);
	return tx_end(db, rc, err);
}

/* ---- subnet accuracy (version 4) --------------------------------------- */

int
h4h_db_acc_load(h4h_db *db, const char *supernet, const char *split,
    const char *settings, h4h_db_acc_fn fn, void *ctx, h4h_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, step;

	if (sqlite3_prepare_v2(db->s, "SELECT gene, accuracy FROM "
	    "subnet_accuracy WHERE supernet = ?1 AND split = ?2 AND "
	    "settings = ?3", -1, &st, NULL) != SQLITE_OK)
		return read_err(db, err);
	sqlite3_bind_text(st, 1, supernet, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, split, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, settings, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *gene = (const char *)sqlite3_column_text(st, 0);
		double acc = sqlite3_column_double(st, 1);

		/* A row a foreign writer left malformed is not trusted. */
		if (gene == NULL || !(acc >= 0 && acc <= 1))
			continue;
		if (fn(ctx, gene, acc) != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = read_err(db, err);
	sqlite3_finalize(st);
	return rc;
}

int
h4h_db_acc_put(h4h_db *db, const char *supernet, const char *split,
    const char *settings, int n, const h4h_db_acc_row *rows, h4h_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (n == 0)
		return 0;
	if (db->readonly)
		return readonly_err(db, err);
	if ((rc = tx_begin(db, err)) != 0)
		return rc;
	if (sqlite3_prepare_v2(db->s, "INSERT OR REPLACE INTO subnet_accuracy "
	    "(supernet, gene, split, settings, accuracy, seconds) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6)", -1, &st, NULL) != SQLITE_OK)
		return tx_end(db, write_err(db, err), err);
	for (int i = 0; i < n && rc == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, supernet, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, rows[i].gene, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, split, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, settings, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 5, rows[i].accuracy);
		sqlite3_bind_double(st, 6, rows[i].seconds);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : write_err(db, err);
	}
	sqlite3_finalize(st);
	return tx_end(db, rc, err);
}
