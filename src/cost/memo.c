/*
 * memo.c - the layer memo the engine uses through sim_cache (sim.h): layer
 * keys, candidate lists and layer costs of one system, looked up in memory
 * first and in the file second, kept until the next flush; and the preload
 * that reads a system's rows at once.
 *
 * Invariants:
 * - What the memo returns is exactly what the file returns after a flush:
 *   a put keeps only the stored fields, with -0.0 read as +0.0 (SQLite's
 *   REAL affinity stores an integral double as an integer, which drops the
 *   sign of zero); a NaN, which SQLite would store as NULL, is refused.
 * - Memo entries are allocated one by one and never freed before close, so
 *   candidate lists handed to the engine stay valid while the cache lives.
 * - A stored row that cannot be right is a miss, counted (db_bad_row).
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "cost/dbInt.h"
#include "sim/engine/partition.h"

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
layer_ent *
db_layer_of(h4h_db *db, const sim_layer *l)
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
int
db_layer_known(h4h_db *db, layer_ent *le)
{
	int rc;

	if (le->id > 0)
		return 1;
	if (le->looked)
		return 0;
	rc = db_id_by_text(db, ST_LAYER_ID, le->key, &le->id);
	if (rc < 0) {
		db_stick(db, H4H_EIO, "cannot read '%s': %s", db->path,
		    db_reason(db->s));
		return -1;
	}
	le->looked = rc == 0;
	return rc;
}

/* Inside the open batch: the layer's id, inserted if new. */
int
db_layer_id_tx(h4h_db *db, layer_ent *le, h4h_err *err)
{
	sqlite3_stmt *st = db->st[ST_LAYER_INSERT];
	char hash[17];
	int rc;

	if (le->id > 0)
		return 0;
	db_hex64(le->hash, hash);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, le->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sim_op_name(le->op), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, le->macs);
	sqlite3_bind_int64(st, 5, le->weight_bytes);
	if (db_run_st(db, ST_LAYER_INSERT) != SQLITE_OK)
		return db_write_err(db, err);
	rc = db_id_by_text(db, ST_LAYER_ID, le->key, &le->id);
	if (rc != 1)
		return rc < 0 ? db_read_err(db, err) : db_write_err(db, err);
	vec_push(&db->fresh, le);
	return 0;
}

/* ---- candidates --------------------------------------------------------- */

static uint64_t
cands_hash(int64_t sys, const layer_ent *le)
{
	return h4h_hash_mix(h4h_hash_mix((uint64_t)sys,
	    (uint64_t)(uintptr_t)le),
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
		h4h_le_put_f64(b, c[i].est_latency_s);
		h4h_le_put_f64(b + 8, c[i].est_energy_j);
	}
}

/* Lays out a list read from the file for layer l (of ce's key) on cx's
 * system: the splits from sim_cands_layout, the estimates from the blob.
 * A list whose length is not the layout's is a miss from now on. */
static int
cands_lay_out(cache_ctx *cx, cands_ent *ce, const sim_layer *l)
{
	size_t max = sim_cands_max(&cx->p, l);
	sim_cand *c = h4h_xcalloc(max, sizeof *c);
	int n = (size_t)ce->n <= max ? sim_cands_layout(&cx->p, l, c) : -1;

	if (n != ce->n) {
		db_bad_row(cx->db, "'%s': layer_candidates of system %lld, "
		    "layer %lld: %d candidates stored, the system has %zu",
		    cx->db->path, (long long)cx->sys, (long long)ce->le->id,
		    ce->n, n < 0 ? max : (size_t)n);
		free(c);
		ce->bad = 1;
	} else {
		const unsigned char *b = ce->raw;

		for (int i = 0; i < n; i++, b += CAND_BYTES) {
			c[i].est_latency_s = h4h_le_get_f64(b);
			c[i].est_energy_j = h4h_le_get_f64(b + 8);
		}
		ce->c = c;
	}
	free(ce->raw);
	ce->raw = NULL;
	return !ce->bad;
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
	ce->raw = h4h_xmalloc((size_t)n * CAND_BYTES);
	memcpy(ce->raw, blob, (size_t)n * CAND_BYTES);
	h4h_htab_add(&db->cands, cands_hash(sys, le), ce);
	return ce;
}

/* The in-memory list of (sys, le), or NULL. */
static cands_ent *
cands_find(h4h_db *db, int64_t sys, layer_ent *le)
{
	cands_ent key = { .sys = sys, .le = le };

	return h4h_htab_find(&db->cands, cands_hash(sys, le), cands_eq, &key);
}

static cands_ent *
cands_load(h4h_db *db, int64_t sys, layer_ent *le)
{
	sqlite3_stmt *st = db->st[ST_CANDS_GET];
	cands_ent *ce = NULL;
	int rc;

	if (db_layer_known(db, le) != 1)
		return NULL;
	sqlite3_bind_int64(st, 1, sys);
	sqlite3_bind_int64(st, 2, le->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		sqlite3_int64 n = sqlite3_column_int64(st, 0);
		const void *blob = sqlite3_column_blob(st, 1);
		int bytes = sqlite3_column_bytes(st, 1);

		if (!cands_size_ok(n, bytes)) {
			db_bad_row(db, "'%s': layer_candidates of system %lld, "
			    "layer %lld: %d bytes for %lld candidates",
			    db->path, (long long)sys, (long long)le->id, bytes,
			    (long long)n);
		} else {
			ce = cands_remember(db, sys, le, n, blob);
		}
	} else if (rc != SQLITE_DONE) {
		db_stick(db, H4H_EIO, "cannot read '%s': %s", db->path,
		    db_reason(db->s));
	}
	db_done_st(st);
	return ce;
}

static int
cache_get_cands(void *ctx, const sim_layer *l, const sim_cand **c, int *n)
{
	cache_ctx *cx = ctx;
	h4h_db *db = cx->db;
	layer_ent *le = db_layer_of(db, l);
	cands_ent *ce = cands_find(db, cx->sys, le);

	if (ce == NULL && (ce = cands_load(db, cx->sys, le)) == NULL)
		return 0;
	if (ce->bad || (ce->c == NULL && !cands_lay_out(cx, ce, l)))
		return 0;
	*c = ce->c;
	*n = ce->n;
	return ce->checked ? 2 : 1;
}

static void
cache_good_cands(void *ctx, const sim_layer *l)
{
	cache_ctx *cx = ctx;
	h4h_db *db = cx->db;
	cands_ent *ce = cands_find(db, cx->sys, db_layer_of(db, l));

	if (ce != NULL)
		ce->checked = 1;
}

static void
cache_bad_cands(void *ctx, const sim_layer *l, const char *why)
{
	cache_ctx *cx = ctx;
	h4h_db *db = cx->db;
	layer_ent *le = db_layer_of(db, l);

	cands_ent *ce = cands_find(db, cx->sys, le);

	db_bad_row(db, "'%s': layer_candidates of system %lld, layer %lld: %s",
	    db->path, (long long)cx->sys, (long long)le->id, why);
	if (ce != NULL)
		ce->bad = 1;	/* a miss until put_cands replaces it */
}

static void
cache_put_cands(void *ctx, const sim_layer *l, const sim_cand *c, int n)
{
	cache_ctx *cx = ctx;
	h4h_db *db = cx->db;
	layer_ent *le = db_layer_of(db, l);
	cands_ent *ce = cands_find(db, cx->sys, le);
	int stored = ce != NULL;

	if (n <= 0 || (ce != NULL && !ce->bad))
		return;
	if (ce == NULL) {
		ce = h4h_xcalloc(1, sizeof *ce);
		ce->sys = cx->sys;
		ce->le = le;
		h4h_htab_add(&db->cands, cands_hash(cx->sys, le), ce);
	}
	/* A corrupt stored list is replaced, in memory and (repair) in
	 * the file: nothing right is lost. */
	free(ce->c);
	ce->repair = ce->bad;
	ce->n = n;
	ce->bad = 0;
	ce->checked = 1;	/* built by the engine for this system */
	ce->c = h4h_xmalloc((size_t)n * sizeof *c);
	memcpy(ce->c, c, (size_t)n * sizeof *c);
	if (stored && !ce->repair)
		return;
	if (db->readonly) {
		db_stick(db, H4H_EIO, READONLY_MSG, db->path);
		return;
	}
	ce->pending = 1;
	vec_push(&db->pend_cands, ce);
}

int
db_cands_write(h4h_db *db, cands_ent *ce, h4h_err *err)
{
	int which = ce->repair ? ST_CANDS_REPAIR : ST_CANDS_PUT;
	sqlite3_stmt *st = db->st[which];
	size_t bytes = (size_t)ce->n * CAND_BYTES;
	unsigned char *blob;
	int rc;

	if ((rc = db_layer_id_tx(db, ce->le, err)) != 0)
		return rc;
	blob = h4h_xmalloc(bytes);
	pack_cands(ce->c, ce->n, blob);
	sqlite3_bind_int64(st, 1, ce->sys);
	sqlite3_bind_int64(st, 2, ce->le->id);
	sqlite3_bind_int(st, 3, ce->n);
	sqlite3_bind_blob(st, 4, blob, (int)bytes, SQLITE_STATIC);
	rc = db_run_st(db, which);
	free(blob);
	return rc == SQLITE_OK ? 0 : db_write_err(db, err);
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
	for (size_t i = 0; i < N_COST_COLS; i++) {
		const char *what = db_column_not_number(st, col + (int)i);

		if (what != NULL) {
			db_bad_row(db, "'%s': layer_costs of system %lld, layer "
			    "%lld, split %d/%d/%d: column %zu is %s", db->path,
			    (long long)sys, (long long)le->id, c->npu_channels,
			    c->cim_channels, c->macros, i, what);
			free(ce);
			return NULL;
		}
	}
	cost_column(st, col, &ce->r);
	/* Every stored figure is a finite count, time or energy >= 0. */
	for (size_t i = 0; i < N_COST_COLS; i++) {
		const char *f = (const char *)&ce->r + cost_cols[i].off;
		double v = cost_cols[i].type == F_DOUBLE ? *(const double *)f :
		    cost_cols[i].type == F_LL ? (double)*(const long long *)f :
		    0;

		if (!isfinite(v) || v < 0) {
			db_bad_row(db,
			    "'%s': layer_costs of system %lld, layer "
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

	if (db_layer_known(db, le) != 1)
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
		db_stick(db, H4H_EIO, "cannot read '%s': %s", db->path,
		    db_reason(db->s));
	}
	db_done_st(st);
	return ce;
}

static int
cache_get_cost(void *ctx, const sim_layer *l, const sim_cand *split,
    sim_layer_result *r)
{
	cache_ctx *cx = ctx;
	h4h_db *db = cx->db;
	layer_ent *le = db_layer_of(db, l);
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
	layer_ent *le = db_layer_of(db, l);
	uint64_t h = cost_hash(cx->sys, le, split);
	cost_ent key = { .sys = cx->sys, .le = le, .npu = split->npu_channels,
	    .cim = split->cim_channels, .macros = split->macros }, *ce;

	if (h4h_htab_find(&db->costs, h, cost_eq, &key) != NULL)
		return;
	ce = h4h_xmalloc(sizeof *ce);
	*ce = key;
	if (!cost_stored(r, split, &ce->r)) {
		db_stick(db, H4H_ESIM,
		    "layer '%s' (%s), split %d/%d/%d: a cost "
		    "is not a number, not stored", l->name, le->key,
		    split->npu_channels, split->cim_channels, split->macros);
		free(ce);
		return;
	}
	h4h_htab_add(&db->costs, h, ce);
	if (db->readonly) {
		db_stick(db, H4H_EIO, READONLY_MSG, db->path);
		return;
	}
	ce->pending = 1;
	vec_push(&db->pend_costs, ce);
}

int
db_cost_write(h4h_db *db, cost_ent *ce, h4h_err *err)
{
	sqlite3_stmt *st = db->st[ST_COST_PUT];
	int rc;

	if ((rc = db_layer_id_tx(db, ce->le, err)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, ce->sys);
	sqlite3_bind_int64(st, 2, ce->le->id);
	sqlite3_bind_int(st, 3, ce->npu);
	sqlite3_bind_int(st, 4, ce->cim);
	sqlite3_bind_int(st, 5, ce->macros);
	cost_bind(st, 6, &ce->r);
	return db_run_st(db, ST_COST_PUT) == SQLITE_OK ? 0 : db_write_err(db,
	    err);
}

int
h4h_db_cache(h4h_db *db, int64_t system_id, const sim_profile *p,
    sim_cache *out, h4h_err *err)
{
	cache_ctx *cx = NULL;
	int rc;

	for (size_t i = 0; i < db->caches.n && cx == NULL; i++)
		if (((cache_ctx *)db->caches.p[i])->sys == system_id)
			cx = db->caches.p[i];
	if (cx == NULL) {
		if ((rc = db_id_check(db, ID_SYSTEM, system_id, err)) != 0)
			return rc;
		cx = h4h_xmalloc(sizeof *cx);
		cx->db = db;
		cx->sys = system_id;
		cx->p = *p;
		vec_push(&db->caches, cx);
	}
	out->ctx = cx;
	out->get_cands = cache_get_cands;
	out->put_cands = cache_put_cands;
	out->get_cost = cache_get_cost;
	out->put_cost = cache_put_cost;
	out->bad_cands = cache_bad_cands;
	out->good_cands = cache_good_cands;
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
		return db_read_err(db, err);
	if (sys > 0)
		sqlite3_bind_int64(st, 1, sys);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		row(db, st, ctx);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_read_err(db, err);
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
		db_bad_row(db, "'%s': layer_candidates of system %lld, layer "
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
	if (h4h_htab_find(&db->nethashes, h, db_nethash_eq, &h) != NULL)
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

	if ((rc = db_id_check(db, ID_SYSTEM, system_id, err)) != 0)
		return rc;
	if (sqlite3_prepare_v2(db->s, "SELECT COALESCE(MAX(id), 0) FROM "
	    "layers", -1, &st, NULL) != SQLITE_OK)
		return db_read_err(db, err);
	if (sqlite3_step(st) == SQLITE_ROW)
		ctx.max_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	ctx.by_id = h4h_xcalloc((size_t)ctx.max_id + 1, sizeof *ctx.by_id);
	/* One read transaction: a consistent snapshot of the three tables. */
	rc = sqlite3_exec(db->s, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 :
	    db_read_err(db, err);
	if (rc == 0)
		rc = each_row(db,
		    "SELECT id, key, op, hash, macs, weight_bytes "
		    "FROM layers", 0, preload_layer, &ctx, err);
	if (rc == 0)
		rc = each_row(db, "SELECT layer_id, n, cands FROM "
		    "layer_candidates WHERE system_id = ?1", system_id,
		    preload_cands, &ctx, err);
	if (rc == 0)
		rc = each_row(db,
		    "SELECT layer_id, npu_channels, cim_channels, "
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

