/*
 * store.c - what the cost database stores by identity: systems (insert-or-get
 * by canonical text, canon.h) and networks (by hash and body, netbody.h),
 * network costs, and
 * the flush that writes everything pending in one transaction.
 *
 * Invariant: a network first costed in this process is written with its
 * cost at the next flush, in the same transaction, so the file never holds
 * a network row whose cost a crash lost.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "cost/dbInt.h"
#include "cost/zblob.h"

/* The doubles of a network cost, in NCOST_COLS order (macs follows). */
static const size_t ncost_cols[] = {
	offsetof(sim_result, latency_s), offsetof(sim_result, energy_j),
	offsetof(sim_result, cycles), offsetof(sim_result, e_npu_j),
	offsetof(sim_result, e_cim_j), offsetof(sim_result, e_noc_j),
	offsetof(sim_result, e_static_j), offsetof(sim_result, noc_bytes_npu),
	offsetof(sim_result, noc_bytes_cim),
	offsetof(sim_result, cim_weight_bytes),
};

_Static_assert(N_NCOST == sizeof ncost_cols / sizeof ncost_cols[0],
    "dbInt.h's N_NCOST counts ncost_cols");

/* ---- identities --------------------------------------------------------- */

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
int
db_id_check(h4h_db *db, int kind, int64_t id, h4h_err *err)
{
	id_ent k = { kind, id };
	int rc;

	if (h4h_htab_find(&db->ids, h4h_hash_mix((uint64_t)kind, (uint64_t)id),
	    id_eq, &k) != NULL)
		return 0;
	rc = db_id_by_int(db, kind == ID_SYSTEM ? ST_SYS_EXISTS : ST_NET_EXISTS,
	    id, NULL);
	if (rc < 0)
		return db_read_err(db, err);
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
	int rc = db_id_by_text(db, find, canon, id);

	if (rc < 0)
		return db_read_err(db, err);
	if (rc == 1)
		return 0;
	if (db->readonly)
		return h4h_errf(err, H4H_EINPUT, "'%s' is read-only and "
		    "it does not hold this %s (make the file and its "
		    "directory writable, or use another --db)", db->path,
		    find == ST_SYS_ID ? "system" : "network");
	if ((rc = db_tx_begin(db, err)) != 0)
		return rc;
	bind(db->st[insert], arg);
	if (db_run_st(db, insert) != SQLITE_OK)
		rc = db_write_err(db, err);
	else if ((rc = db_id_by_text(db, find, canon, id)) != 1)
		rc = rc < 0 ? db_read_err(db, err) : db_write_err(db, err);
	else
		rc = 0;
	return db_tx_end(db, rc, err);
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

/* The row found by its canonical text must carry that text's hash: one
 * whose text was edited to another system's would lend that system its
 * costs.  A system row is the key of all its costs, not a cache entry, and
 * a second row of the same text cannot be made, so this is an error. */
static int
sys_hash_check(h4h_db *db, int64_t id, const char *hash, h4h_err *err)
{
	sqlite3_stmt *st;
	int rc, ok = 0;
	char stored[17] = "";

	if (sqlite3_prepare_v2(db->s, "SELECT hash FROM systems WHERE id = ?1",
	    -1, &st, NULL) != SQLITE_OK)
		return db_read_err(db, err);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 0);

		snprintf(stored, sizeof stored, "%s", h != NULL ? h : "");
		ok = h != NULL && strcmp(h, hash) == 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_read_err(db, err);
	if (ok)
		return 0;
	return h4h_errf(err, H4H_EINPUT, "'%s': system %lld's hash '%s' is not "
	    "its canonical text's (%s): the row was changed outside h4h, so "
	    "its costs cannot be trusted (delete the system's rows or use "
	    "another --db)", db->path, (long long)id, stored, hash);
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
	db_hex64(h, hash);
	rc = identity(db, ST_SYS_ID, ST_SYS_INSERT, canon, bind_sys, &a, id,
	    err);
	if (rc == 0)
		rc = sys_hash_check(db, *id, hash, err);
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

/* ---- networks (schema v5: hash and body, netbody.h) ---------------------- */

/* What a network's body needs, from the network: the layers' key entries
 * (their ids come from the file) and their inputs. */
static void
shape_fill(h4h_db *db, const sim_net *net, pnet_ent *e)
{
	int n = net->n_layers;

	e->in[0] = net->in_h;
	e->in[1] = net->in_w;
	e->in[2] = net->in_c;
	e->n_layers = n;
	e->le = h4h_xcalloc(n > 0 ? (size_t)n : 1, sizeof *e->le);
	e->inputs = h4h_xcalloc(n > 0 ? (size_t)n : 1, sizeof *e->inputs);
	e->n_inputs = h4h_xcalloc(n > 0 ? (size_t)n : 1, 1);
	for (int i = 0; i < n; i++) {
		const sim_layer *l = &net->layers[i];

		e->le[i] = db_layer_of(db, l);
		e->n_inputs[i] = (unsigned char)l->n_inputs;
		e->inputs[i][0] = l->inputs[0];
		e->inputs[i][1] = l->n_inputs > 1 ? l->inputs[1] : 0;
	}
}

static void
shape_free(pnet_ent *e)
{
	free(e->le);
	free(e->inputs);
	free(e->n_inputs);
}

static int
shape_eq(const pnet_ent *a, const pnet_ent *b)
{
	size_t n = (size_t)a->n_layers;

	return a->hash == b->hash && a->n_layers == b->n_layers &&
	    memcmp(a->in, b->in, sizeof a->in) == 0 &&
	    memcmp(a->le, b->le, n * sizeof *a->le) == 0 &&
	    memcmp(a->n_inputs, b->n_inputs, n) == 0 &&
	    memcmp(a->inputs, b->inputs, n * sizeof *a->inputs) == 0;
}

/* The body with the layers' ids: inside a batch (add) a key the file lacks
 * is added; otherwise such a key means the network is not in the file.
 * 1 built, 0 not in the file, or an error code. */
static int
body_build(h4h_db *db, const pnet_ent *e, int add, db_body *b, h4h_err *err)
{
	db_body_start(b, DB_BODY_VERSION, e->in[0], e->in[1], e->in[2],
	    e->n_layers);
	for (int i = 0; i < e->n_layers; i++) {
		int rc;

		if (add) {
			if ((rc = db_layer_id_tx(db, e->le[i], err)) != 0)
				return rc;
		} else if ((rc = db_layer_known(db, e->le[i])) != 1) {
			return rc < 0 ? db_read_err(db, err) : 0;
		}
		db_body_layer(b, i, e->le[i]->id, e->n_inputs[i],
		    e->inputs[i]);
	}
	return 1;
}

/* The network with this hash and body: 1 (*id set), 0 none, -1 on a read
 * error.  Rows of one hash are few (one, short of a collision). */
static int
net_find(h4h_db *db, const char *hash, const db_body *b, int64_t *id)
{
	sqlite3_stmt *st = db->st[ST_NET_ID];
	int rc, found = 0;

	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);

		if (n == b->n && (n == 0 || memcmp(p, b->p, n) == 0)) {
			*id = sqlite3_column_int64(st, 0);
			found = 1;
			break;
		}
	}
	db_done_st(st);
	return found ? 1 : rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Inside a batch: the network's id, inserted (with e's labels) if new. */
static int
net_id_tx(h4h_db *db, const pnet_ent *e, const char *source,
    long long macs, int64_t *id, h4h_err *err)
{
	sqlite3_stmt *st = db->st[ST_NET_INSERT];
	db_body b = { 0 };
	unsigned char *zarch = NULL;
	size_t zn = 0;
	char hash[17];
	int rc;

	db_hex64(e->hash, hash);
	if ((rc = body_build(db, e, 1, &b, err)) != 1)
		goto out;
	rc = net_find(db, hash, &b, id);
	if (rc < 0) {
		rc = db_read_err(db, err);
		goto out;
	}
	if (rc == 1) {
		rc = 0;
		goto out;
	}
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, b.p, (int)b.n, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, source, -1, SQLITE_STATIC);
	if (e->arch != NULL) {
		size_t an = strlen(e->arch);

		/* Deflated (zblob.h); the text itself if zlib cannot. */
		if ((zarch = db_zdeflate(e->arch, an, &zn)) != NULL)
			sqlite3_bind_blob(st, 5, zarch, (int)zn,
			    SQLITE_STATIC);
		else
			sqlite3_bind_text(st, 5, e->arch, (int)an,
			    SQLITE_STATIC);
	}
	sqlite3_bind_int(st, 6, e->n_layers);
	sqlite3_bind_int64(st, 7, macs);
	if (db_run_st(db, ST_NET_INSERT) != SQLITE_OK) {
		rc = db_write_err(db, err);
		goto out;
	}
	*id = sqlite3_last_insert_rowid(db->s);
	rc = 0;
out:
	db_body_free(&b);
	free(zarch);
	return rc;
}

static int
source_ok(const char *source, h4h_err *err)
{
	if (source == NULL || (strcmp(source, "net") != 0 &&
	    strcmp(source, "arch") != 0))
		return h4h_errf(err, H4H_EINPUT, "network source must be 'net' "
		    "or 'arch' (got '%s')", source ? source : "(null)");
	return 0;
}

/* Looked up by hash and body, inserted in its own transaction if new; the
 * first writer's labels are kept. */
int
h4h_db_network(h4h_db *db, const sim_net *net, const char *source,
    const char *arch_json, int64_t *id, h4h_err *err)
{
	pnet_ent e = { 0 };
	db_body b = { 0 };
	long long macs = 0;
	char hash[17];
	int rc;

	if ((rc = source_ok(source, err)) != 0)
		return rc;
	shape_fill(db, net, &e);
	e.hash = sim_net_hash(net);
	e.name = (char *)net->name;
	e.arch = (char *)arch_json;
	db_hex64(e.hash, hash);
	for (int i = 0; i < net->n_layers; i++)
		macs += sim_layer_macs(&net->layers[i]);
	rc = body_build(db, &e, 0, &b, err);
	if (rc == 1) {
		rc = net_find(db, hash, &b, id);
		rc = rc < 0 ? db_read_err(db, err) : rc;
	}
	if (rc == 1) {
		rc = 0;
	} else if (rc == 0 && db->readonly) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s' is read-only and it does "
		    "not hold this network (make the file and its directory "
		    "writable, or use another --db)", db->path);
	} else if (rc == 0 && (rc = db_tx_begin(db, err)) == 0) {
		rc = net_id_tx(db, &e, source, macs, id, err);
		rc = db_tx_end(db, rc, err);
	}
	db_body_free(&b);
	shape_free(&e);
	if (rc == 0)
		id_remember(db, ID_NETWORK, *id);
	return rc;
}

int
db_nethash_eq(const void *item, const void *key)
{
	return ((const nethash_ent *)item)->hash == *(const uint64_t *)key;
}

int
h4h_db_net_cost_find(h4h_db *db, int64_t system_id, const sim_net *net,
    sim_objective obj, double *latency_s, double *energy_j, int *found,
    h4h_err *err)
{
	uint64_t h = sim_net_hash(net);
	pnet_ent e = { 0 };
	db_body b = { 0 };
	char hash[17];
	int64_t id;
	int rc;

	*found = 0;
	/* After h4h_db_preload: a hash the file has no cost for, and that is
	 * not waiting for the flush, is a network never costed here. */
	if (db->nethash_sys == system_id &&
	    h4h_htab_find(&db->nethashes, h, db_nethash_eq, &h) == NULL)
		return 0;
	shape_fill(db, net, &e);
	e.hash = h;
	for (size_t i = 0; i < db->pend_nets.n; i++) {
		pnet_ent *p = db->pend_nets.p[i];

		if (p->cost.sys == system_id && p->cost.obj == obj &&
		    shape_eq(p, &e)) {
			shape_free(&e);
			*latency_s = p->cost.v[0];
			*energy_j = p->cost.v[1];
			*found = 1;
			return 0;
		}
	}
	db_hex64(h, hash);
	rc = body_build(db, &e, 0, &b, err);
	if (rc == 1) {
		rc = net_find(db, hash, &b, &id);
		rc = rc < 0 ? db_read_err(db, err) : rc;
	}
	db_body_free(&b);
	shape_free(&e);
	if (rc != 1)
		return rc;
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
		return db_readonly_err(db, err);
	if ((rc = source_ok(source, err)) != 0)
		return rc;
	if ((rc = db_objective_ok(r->objective, err)) != 0 ||
	    (rc = db_id_check(db, ID_SYSTEM, system_id, err)) != 0)
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
	shape_fill(db, net, e);
	e->name = h4h_xstrdup(net->name);
	e->arch = arch_json ? h4h_xstrdup(arch_json) : NULL;
	e->source = strcmp(source, "arch") == 0 ? "arch" : "net";
	e->cost.sys = system_id;
	e->cost.obj = r->objective;
	e->cost.macs = r->macs;
	e->cost.pending = 1;
	vec_push(&db->pend_nets, e);
	if (db->nethash_sys == system_id &&
	    h4h_htab_find(&db->nethashes, h, db_nethash_eq, &h) == NULL) {
		nethash_ent *n = h4h_xmalloc(sizeof *n);

		n->hash = h;
		h4h_htab_add(&db->nethashes, h, n);
	}
	return 0;
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

int
db_objective_ok(sim_objective obj, h4h_err *err)
{
	if (obj != SIM_OBJ_LATENCY && obj != SIM_OBJ_ENERGY &&
	    obj != SIM_OBJ_EDP)
		return h4h_errf(err, H4H_EINPUT, "unknown objective %d",
		    (int)obj);
	return 0;
}

/* A network cost read from the file, or NULL (one bad-row warning) when a
 * column is not a finite number >= 0: a -1 ms cost would win every
 * search.  The caller then costs the network again. */
static ncost_ent *
ncost_read(h4h_db *db, const ncost_ent *key, sqlite3_stmt *st)
{
	ncost_ent *ce;

	for (int i = 0; i <= (int)N_NCOST; i++) {
		const char *what = db_column_not_number(st, i);

		if (what != NULL) {
			db_bad_row(db, "'%s': network_costs of system %lld, "
			    "network %lld: column %d is %s", db->path,
			    (long long)key->sys, (long long)key->net, i, what);
			return NULL;
		}
	}
	ce = h4h_xcalloc(1, sizeof *ce);
	*ce = *key;
	for (size_t i = 0; i < N_NCOST; i++) {
		ce->v[i] = sqlite3_column_double(st, (int)i);
		if (!isfinite(ce->v[i]) || ce->v[i] < 0 ||
		    (i == 0 && ce->v[i] == 0)) {
			db_bad_row(db, "'%s': network_costs of system %lld, "
			    "network %lld: column %zu is %g", db->path,
			    (long long)key->sys, (long long)key->net, i,
			    ce->v[i]);
			free(ce);
			return NULL;
		}
	}
	ce->macs = sqlite3_column_int64(st, (int)N_NCOST);
	if (ce->macs < 0) {
		db_bad_row(db, "'%s': network_costs of system %lld, network "
		    "%lld: macs is %lld", db->path, (long long)key->sys,
		    (long long)key->net, (long long)ce->macs);
		free(ce);
		return NULL;
	}
	return ce;
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
		if ((rc = db_objective_ok(obj, err)) != 0)
			return rc;
		sqlite3_bind_int64(st, 1, system_id);
		sqlite3_bind_int64(st, 2, network_id);
		sqlite3_bind_text(st, 3, sim_objective_name(obj), -1,
		    SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			ce = ncost_read(db, &key, st);
			if (ce != NULL)
				h4h_htab_add(&db->ncosts, h, ce);
		} else if (rc != SQLITE_DONE) {
			rc = db_read_err(db, err);
			db_done_st(st);
			return rc;
		}
		db_done_st(st);
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

	if ((rc = db_objective_ok(r->objective, err)) != 0 ||
	    (rc = db_id_check(db, ID_SYSTEM, system_id, err)) != 0 ||
	    (rc = db_id_check(db, ID_NETWORK, network_id, err)) != 0)
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
		return found ? 0 : db_readonly_err(db, err);
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
	return db_run_st(db, ST_NCOST_PUT) == SQLITE_OK ? 0 : db_write_err(db,
	    err);
}

/* ---- flush -------------------------------------------------------------- */

static int
pending_any(const h4h_db *db)
{
	return db->pend_cands.n + db->pend_costs.n + db->pend_ncosts.n +
	    db->pend_nets.n > 0;
}

/* Writes everything pending into the open transaction. */
void
db_pnet_free(void *p)
{
	pnet_ent *e = p;

	if (e == NULL)
		return;
	shape_free(e);
	free(e->name);
	free(e->arch);
	free(e);
}

/* The network row (inserted if new) and then its cost. */
static int
pnet_write(h4h_db *db, pnet_ent *e, h4h_err *err)
{
	int rc = net_id_tx(db, e, e->source, e->cost.macs, &e->cost.net, err);

	return rc != 0 ? rc : ncost_write(db, &e->cost, err);
}

static int
write_pending(h4h_db *db, h4h_err *err)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < db->pend_cands.n; i++)
		rc = db_cands_write(db, db->pend_cands.p[i], err);
	for (size_t i = 0; rc == 0 && i < db->pend_costs.n; i++)
		rc = db_cost_write(db, db->pend_costs.p[i], err);
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
			db_pnet_free(db->pend_nets.p[i]);
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


/* One batch: the pending items and, if given, extra's writes. */
int
db_write_batch(h4h_db *db, tx_extra extra, const void *arg, h4h_err *err)
{
	int rc;

	if ((rc = take_sticky(db, err)) != 0)
		return rc;
	if (extra == NULL && !pending_any(db))
		return 0;
	if ((rc = db_tx_begin(db, err)) != 0)
		return rc;
	rc = write_pending(db, err);
	if (rc == 0 && extra != NULL)
		rc = extra(db, arg, err);
	rc = db_tx_end(db, rc, err);
	settle(db, rc == 0);
	return rc;
}

int
h4h_db_flush(h4h_db *db, h4h_err *err)
{
	return db_write_batch(db, NULL, NULL, err);
}

