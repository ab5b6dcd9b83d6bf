/*
 * dbInt.h - the cost database's private header (as SQLite's *Int.h): the
 * struct behind h4h_db, its in-memory tables, its prepared statements and
 * the helpers the store's files share.  Nothing outside src/cost includes
 * it.
 *
 * The store's files: db.c (open, close, statements, errors,
 * transactions), schema.c (versions and migrations), store.c (identities,
 * network costs, flush), memo.c (the layer memo and preload), sweep.c
 * (sweeps and runs), query.c (read-only SQL and reports), nas_tables.c
 * (the NAS's tables).
 */
#ifndef H4H_COST_DBINT_H
#define H4H_COST_DBINT_H

#include "cost/db.h"
#include "cost/memo.h"
#include "cost/netbody.h"
#include "cost/nas_tables.h"
#include "cost/query.h"
#include "cost/store.h"
#include "cost/sweep.h"

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

/* ---- statements --------------------------------------------------------- */

/* layer_costs' value columns, in the order of cost_cols[]. */
#define COST_COLS "cycles, latency_s, end_ps, e_npu_j, e_cim_j, e_noc_j, " \
	"e_static_j, energy_j, noc_bytes_npu, noc_bytes_cim, noc_busy_s, " \
	"npu_busy_s, cim_busy_s, macs, npu_fraction, est_latency_s"
/* network_costs' value columns, in the order of ncost_ent.v[] + macs. */
#define NCOST_COLS "latency_s, energy_j, cycles, e_npu_j, e_cim_j, " \
	"e_noc_j, e_static_j, noc_bytes_npu, noc_bytes_cim, " \
	"cim_weight_bytes, macs"
/* The same, as the new row of an upsert ("excluded."). */
#define COST_COLS_NEW "excluded.cycles, excluded.latency_s, " \
	"excluded.end_ps, excluded.e_npu_j, excluded.e_cim_j, " \
	"excluded.e_noc_j, excluded.e_static_j, excluded.energy_j, " \
	"excluded.noc_bytes_npu, excluded.noc_bytes_cim, " \
	"excluded.noc_busy_s, excluded.npu_busy_s, excluded.cim_busy_s, " \
	"excluded.macs, excluded.npu_fraction, excluded.est_latency_s"
#define NCOST_COLS_NEW "excluded.latency_s, excluded.energy_j, " \
	"excluded.cycles, excluded.e_npu_j, excluded.e_cim_j, " \
	"excluded.e_noc_j, excluded.e_static_j, excluded.noc_bytes_npu, " \
	"excluded.noc_bytes_cim, excluded.cim_weight_bytes, excluded.macs"
/* A stored network cost h4h can use: what ncost_read accepts, in SQL
 * (h4h_numbers_ok is registered on every connection, db.c). */
#define NCOST_OK(c) "(h4h_numbers_ok(" c "latency_s, " c "energy_j, " \
	c "cycles, " c "e_npu_j, " c "e_cim_j, " c "e_noc_j, " \
	c "e_static_j, " c "noc_bytes_npu, " c "noc_bytes_cim, " \
	c "cim_weight_bytes, " c "macs) AND " c "latency_s > 0)"

enum {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_SYS_INSERT, ST_SYS_ID, ST_SYS_EXISTS,
	ST_NET_INSERT, ST_NET_ID, ST_NET_EXISTS,
	ST_LAYER_INSERT, ST_LAYER_ID,
	ST_CANDS_GET, ST_CANDS_PUT, ST_CANDS_REPAIR,
	ST_COST_GET, ST_COST_PUT,
	ST_NCOST_GET, ST_NCOST_PUT,
	ST_SWEEP_FIND, ST_SWEEP_INSERT, ST_SWEEP_NPOINTS, ST_RUN_INSERT,
	ST_RUN_RUNNING, ST_RUN_RESET, ST_RUN_NEXT, ST_RUN_START,
	ST_RUN_DONE, ST_RUN_FAIL, ST_SWEEP_PROGRESS, ST_SWEEP_END,
	ST_COUNT
};

/* The doubles of a network cost (store.c's ncost_cols). */
#define N_NCOST 10

/* A candidate in a layer_candidates blob: float64 est_latency_s,
 * est_energy_j, little-endian, in sim_cands_layout's order (the splits
 * follow from the layer and the system). */
#define CAND_BYTES (2 * 8)

/* ---- in-memory tables --------------------------------------------------- */

typedef struct vec {
	void **p;
	size_t n, cap;
} vec;

static inline void
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

/* checked: the engine found the list right for this system (or built it),
 * so it need not check it again; bad: the stored list cannot be this
 * system's, a miss until the engine's own list replaces it.  A list read
 * from the file stays packed (raw, n * CAND_BYTES) until a lookup with the
 * layer's shape lays it out (c). */
typedef struct cands_ent {
	int64_t sys;
	layer_ent *le;
	int n, pending, checked, bad;
	int repair;			/* replaces a bad row of the file */
	sim_cand *c;
	unsigned char *raw;
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
/* A network waiting for the flush: what its body needs (netbody.h), with
 * each layer's key entry in place of the id it gets then. */
typedef struct pnet_ent {
	uint64_t hash;
	int in[3];
	struct layer_ent **le;
	int (*inputs)[2];
	unsigned char *n_inputs;
	char *name, *arch;
	const char *source;		/* "net" or "arch" */
	int n_layers;
	ncost_ent cost;			/* .net filled in at the flush */
} pnet_ent;


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
	sim_profile p;			/* the system's: lays out stored lists */
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


/* ---- shared by the store's files ---------------------------------------- */

/* Every refused write of a read-only file or place says this. */
#define READONLY_MSG "cannot write '%s': read-only (make the file and its " \
	"directory writable, or use another --db)"

/* The tables whose ids db_id_check verifies. */
enum { ID_SYSTEM, ID_NETWORK };

/* schema.c */
extern int (*const db_migrations[H4H_DB_SCHEMA_VERSION])(sqlite3 *);
/* The tables `h4h db export table:NAME` may name. */
extern const char *const db_table_names[];
extern const size_t db_n_tables;

/* db.c: errors.  db_stick keeps the first error of a cache callback for
 * the next flush; db_bad_row counts a stored row that cannot be right. */
void db_stick(h4h_db *db, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void db_bad_row(h4h_db *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *db_reason(sqlite3 *s);
int db_read_err(h4h_db *db, h4h_err *err);
int db_write_err(h4h_db *db, h4h_err *err);
int db_readonly_err(h4h_db *db, h4h_err *err);
/* db.c: statements and transactions. */
int db_run_st(h4h_db *db, int which);
void db_done_st(sqlite3_stmt *st);
int db_id_by_text(h4h_db *db, int which, const char *text, int64_t *id);
/* NULL if column col of st's row holds a number, else what it holds
 * ("NULL", "text", "a blob"): SQLite reads text as 0.0 and stores a NaN
 * as NULL, so a REAL column is checked before it is read.  Call before
 * any sqlite3_column_* conversion of the column. */
const char *db_column_not_number(sqlite3_stmt *st, int col);
/* The SQL functions h4h's statements use (h4h_numbers_ok, zblob.h's). */
int db_funcs_register(sqlite3 *s);
int db_id_by_int(h4h_db *db, int which, int64_t key, int64_t *out);
void db_hex64(uint64_t h, char buf[17]);
int db_tx_begin(h4h_db *db, h4h_err *err);
int db_tx_end(h4h_db *db, int rc, h4h_err *err);

/* store.c */
int db_id_check(h4h_db *db, int kind, int64_t id, h4h_err *err);
int db_nethash_eq(const void *item, const void *key);
int db_objective_ok(sim_objective obj, h4h_err *err);
void db_pnet_free(void *p);
/* Extra work inside a flush's transaction (a sweep's run status). */
typedef int (*tx_extra)(h4h_db *db, const void *arg, h4h_err *err);
int db_write_batch(h4h_db *db, tx_extra extra, const void *arg,
    h4h_err *err);

/* memo.c: the layer memo (the entry of a layer's key; whether the file
 * knows it, -1 on a read error; inside a batch, its id, added if new) */
layer_ent *db_layer_of(h4h_db *db, const sim_layer *l);
int db_layer_known(h4h_db *db, layer_ent *le);
int db_layer_id_tx(h4h_db *db, layer_ent *le, h4h_err *err);
int db_cands_write(h4h_db *db, cands_ent *ce, h4h_err *err);
int db_cost_write(h4h_db *db, cost_ent *ce, h4h_err *err);

/* sweep.c */
int db_sweep_points(h4h_db *db, int64_t sweep_id, int64_t *n,
    h4h_err *err);

#endif
