/*
 * check_db.c - the cost database (src/cost/).
 *
 * Core: a new file gets the schema, application_id and user_version; a
 * system's identity is its values (a new name is the same system, a new
 * value a new one); layer costs, candidate lists and network costs come
 * back bit for bit before a flush, after it and after reopening; candidate
 * blobs are little-endian; sweeps resume; export and select.
 * Limits: two processes writing overlapping keys at once store each key
 * once; a process SIGKILLed while writing leaves a sound file where every
 * committed run has all its costs; a run left 'running' by a dead process
 * is claimed again, one of a live process is not; a failed batch is kept
 * for the next flush.
 * Errors: a text file, another program's database, a newer schema and a
 * missing file are refused (and left as they were); a read-only handle
 * refuses writes cleanly; bad selectors and writing queries are refused.
 *
 * Every test works in its own mkdtemp directory.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "check_util.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cost/db.h"
#include "cost/memo.h"
#include "cost/nas_tables.h"
#include "cost/query.h"
#include "cost/store.h"
#include "cost/sweep.h"
#include "sim/engine/partition.h"
#include "sim/front/arch.h"
#include "sim/front/net_json.h"

/* ---- fixtures (per test) ------------------------------------------------ */

/* The test's directory, made at the first path asked for. */
static const char *
tmp_make(tu_tmpdir *t, const char *name)
{
	if (t->dir[0] == '\0')
		tu_tmpdir_make(t, "check_db");
	return tu_tmpdir_path(t, 0, name);
}

static h4h_db *
db_open_ok(const char *path, int flags)
{
	h4h_err err = { "" };
	h4h_db *db = NULL;

	ck_assert_msg(h4h_db_open(path, flags, &db, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(db);
	return db;
}

static int64_t
system_ok(h4h_db *db, const sim_profile *p)
{
	h4h_err err = { "" };
	int64_t id = -1;

	ck_assert_msg(h4h_db_system(db, p, &id, &err) == 0, "%s", err.msg);
	ck_assert_int_gt(id, 0);
	return id;
}

static sim_cache
cache_ok(h4h_db *db, int64_t sys)
{
	h4h_err err = { "" };
	sim_profile p;
	sim_cache c;

	/* The systems these tests store are default profiles. */
	sim_profile_defaults(&p);
	ck_assert_msg(h4h_db_cache(db, sys, &p, &c, &err) == 0, "%s", err.msg);
	return c;
}

static void
flush_ok(h4h_db *db)
{
	h4h_err err = { "" };

	ck_assert_msg(h4h_db_flush(db, &err) == 0, "%s", err.msg);
}

/* A 1x1 conv whose key differs for every i. */
static sim_layer
mk_layer(int i)
{
	sim_layer l;

	memset(&l, 0, sizeof l);
	snprintf(l.name, sizeof l.name, "layer%d", i);
	l.op = SIM_OP_CONV;
	l.act = SIM_ACT_RELU;
	l.in_h = l.in_w = l.out_h = l.out_w = 7;
	l.in_c = 8 + i;
	l.out_c = 64;
	l.kh = l.kw = l.stride = l.groups = l.heads = 1;
	l.n_inputs = 1;
	l.inputs[0] = -1;
	return l;
}

static sim_cand
mk_split(int npu, int cim, int macros)
{
	sim_cand c = { .npu_channels = npu, .cim_channels = cim,
	    .macros = macros };

	return c;
}

/* Values with every bit significant, distinct per field and seed. */
static void
mk_result(int seed, const sim_cand *c, sim_layer_result *r)
{
	double s = seed + 1;

	memset(r, 0, sizeof *r);
	r->npu_channels = c->npu_channels;
	r->cim_channels = c->cim_channels;
	r->macros = c->macros;
	r->npu_fraction = s / (s + 3.0);
	r->end_ps = (1ULL << 41) + 7919ULL * (uint64_t)seed;
	r->latency_s = r->end_ps * 1e-12;
	r->cycles = r->latency_s * 500e6 / 3.0;
	r->e_npu_j = s * 1e-7 / 7.0;
	r->e_cim_j = s * 1e-8 / 11.0;
	r->e_noc_j = s * 1e-9 / 13.0;
	r->e_static_j = 4.9406564584124654e-324 * seed;	/* subnormal */
	r->energy_j = r->e_npu_j + r->e_cim_j + r->e_noc_j + r->e_static_j;
	r->noc_bytes_npu = 1e6 + s / 3.0;
	r->noc_bytes_cim = 1e5 + s / 17.0;
	r->noc_busy_s = s * 1e-6 / 19.0;
	r->npu_busy_s = s * 1e-6 / 23.0;
	r->cim_busy_s = s * 1e-6 / 29.0;
	r->macs = (1LL << 35) + seed;
	r->est_latency_s = r->latency_s * 1.1;
}

#define SAME(a, b, f) ck_assert_msg(memcmp(&(a)->f, &(b)->f, \
	sizeof (a)->f) == 0, "field " #f " differs")

/* Every field get_cost fills, bit for bit (the layer pointer included:
 * the database must leave it alone). */
static void
assert_same_result(const sim_layer_result *a, const sim_layer_result *b)
{
	SAME(a, b, layer);
	SAME(a, b, npu_channels);
	SAME(a, b, cim_channels);
	SAME(a, b, macros);
	SAME(a, b, npu_fraction);
	SAME(a, b, start_ps);
	SAME(a, b, end_ps);
	SAME(a, b, latency_s);
	SAME(a, b, cycles);
	SAME(a, b, e_npu_j);
	SAME(a, b, e_cim_j);
	SAME(a, b, e_noc_j);
	SAME(a, b, e_static_j);
	SAME(a, b, energy_j);
	SAME(a, b, noc_bytes_npu);
	SAME(a, b, noc_bytes_cim);
	SAME(a, b, noc_busy_s);
	SAME(a, b, npu_busy_s);
	SAME(a, b, cim_busy_s);
	SAME(a, b, macs);
	SAME(a, b, est_latency_s);
	SAME(a, b, candidates);
	SAME(a, b, simulated);
}

/* get_cost with a sentinel layer pointer, which must survive. */
static int
get_cost(const sim_cache *c, const sim_layer *l, const sim_cand *split,
    sim_layer_result *r)
{
	memset(r, 0xa5, sizeof *r);
	r->layer = l;
	return c->get_cost(c->ctx, l, split, r);
}

/* One integer from a query. */
typedef struct int_ctx {
	long long v;
	int rows;
	char text[256];
} int_ctx;

static int
int_row(void *vctx, int ncol, const char *const *names,
    const char *const *values)
{
	int_ctx *ctx = vctx;

	(void)names;
	ck_assert_int_ge(ncol, 1);
	ctx->rows++;
	ctx->v = values[0] ? atoll(values[0]) : -1;
	snprintf(ctx->text, sizeof ctx->text, "%s",
	    values[0] ? values[0] : "(null)");
	return 0;
}

static long long
query_int(h4h_db *db, const char *sql)
{
	h4h_err err = { "" };
	int_ctx ctx = { 0, 0, "" };

	ck_assert_msg(h4h_db_select(db, sql, int_row, &ctx, &err) == 0,
	    "%s: %s", sql, err.msg);
	ck_assert_int_eq(ctx.rows, 1);
	return ctx.v;
}

static const char *
query_text(h4h_db *db, const char *sql, int_ctx *ctx)
{
	h4h_err err = { "" };

	memset(ctx, 0, sizeof *ctx);
	ck_assert_msg(h4h_db_select(db, sql, int_row, ctx, &err) == 0, "%s: %s",
	    sql, err.msg);
	ck_assert_int_eq(ctx->rows, 1);
	return ctx->text;
}

static sim_net *
mk_net(const char *name, int variant)
{
	h4h_err err = { "" };
	sim_net *net = sim_net_new(name, 14, 14, 16);
	sim_layer l;

	memset(&l, 0, sizeof l);
	snprintf(l.name, sizeof l.name, "conv");
	l.op = SIM_OP_CONV;
	l.act = SIM_ACT_RELU;
	l.kh = 3;
	l.stride = 1;
	l.groups = 1;
	l.out_c = 32 + variant;
	l.n_inputs = 1;
	l.inputs[0] = -1;
	ck_assert_msg(sim_net_append(net, &l, &err) == 0, "%s", err.msg);
	memset(&l, 0, sizeof l);
	snprintf(l.name, sizeof l.name, "fc");
	l.op = SIM_OP_FC;
	l.out_c = 10;
	l.n_inputs = 1;
	l.inputs[0] = 0;
	ck_assert_msg(sim_net_append(net, &l, &err) == 0, "%s", err.msg);
	return net;
}

static int64_t
network_ok(h4h_db *db, const sim_net *net)
{
	h4h_err err = { "" };
	int64_t id = -1;

	ck_assert_msg(h4h_db_network(db, net, "net", NULL, &id, &err) == 0,
	    "%s", err.msg);
	ck_assert_int_gt(id, 0);
	return id;
}

static void
mk_net_result(int seed, sim_objective obj, sim_result *r)
{
	double s = seed + 1;

	memset(r, 0, sizeof *r);
	r->objective = obj;
	r->latency_s = s * 1e-3 / 3.0;
	r->energy_j = s * 1e-6 / 7.0;
	r->cycles = r->latency_s * 5e8;
	r->e_npu_j = s / 11.0;
	r->e_cim_j = s / 13.0;
	r->e_noc_j = s / 17.0;
	r->e_static_j = s / 19.0;
	r->noc_bytes_npu = s * 1e6 / 23.0;
	r->noc_bytes_cim = s * 1e5 / 29.0;
	r->macs = (1LL << 40) + seed;
	r->cim_weight_bytes = s * 1e4 / 31.0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Writes a file with sqlite3 directly. */
static void
sqlite_make(const char *path, const char *sql)
{
	sqlite3 *s;

	ck_assert_int_eq(sqlite3_open(path, &s), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(s, sql, NULL, NULL, NULL) == SQLITE_OK, "%s",
	    sqlite3_errmsg(s));
	sqlite3_close(s);
}

/* ---- Core --------------------------------------------------------------- */

/* A version-1 database (made by an h4h before the training logs) opens,
 * migrates to the current version with its rows kept, and takes training
 * logs; an epoch logged twice replaces its row. */
START_TEST(test_migrate_v1_train_logs)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "v1.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	h4h_db_train_row row = { .phase = 1, .epoch = 1, .step = 10,
	    .train_loss = 2.0, .max_val_acc = 0.5, .min_val_acc = -1 };
	h4h_err err = { "" };
	int64_t run, run2;

	h4h_db_close(db);
	sqlite_make(path, "DROP TABLE subnet_accuracy; "
	    "DROP TABLE train_epochs; DROP TABLE train_runs; "
	    "ALTER TABLE systems DROP COLUMN model_revision; "
	    "INSERT INTO sweeps (args, n_points, status) VALUES ('old', 0, "
	    "'done'); DROP INDEX networks_hash; ALTER TABLE networks RENAME "
	    "COLUMN body TO canon; "
	    "PRAGMA user_version = 1;");
	db = db_open_ok(path, 0);
	ck_assert_int_eq(query_int(db, "PRAGMA user_version"),
	    H4H_DB_SCHEMA_VERSION);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM sweeps"), 1);
	ck_assert_int_eq(h4h_db_train_run(db, "sp", "cnn", 1, "a=1", &run,
	    &err), 0);
	ck_assert_int_eq(h4h_db_train_run(db, "sp", "cnn", 1, "a=1", &run2,
	    &err), 0);
	ck_assert_int_eq(run, run2);
	ck_assert_int_eq(h4h_db_train_run(db, "sp", "cnn", 1, "a=2", &run2,
	    &err), 0);
	ck_assert_int_ne(run, run2);
	ck_assert_int_eq(h4h_db_train_epoch(db, run, &row, &err), 0);
	row.train_loss = 1.5;
	ck_assert_int_eq(h4h_db_train_epoch(db, run, &row, &err), 0);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM train_epochs"), 1);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM train_epochs "
	    "WHERE train_loss = 1.5 AND min_val_acc IS NULL"), 1);
	h4h_db_close(db);
	tu_tmpdir_remove(&t);
}
END_TEST

/* Files of older versions (tests/fixtures/README.md): version 4 made by
 * the h4h of commit 23008c0, version 5 by that of commit 89cc91e.  The
 * upgrade keeps every network's id and label and every stored cost, layer
 * result and accuracy; each network is found again from its architecture
 * or layer list; stored candidate lists are reused (no layer of a stored
 * network is estimated again, none is reported corrupt); and the file
 * shrinks. */
typedef struct old_net {
	int64_t id, sys;
	char source[8], obj[8];
	char *arch;
	double lat, energy;
} old_net;

/* A sim_cache that counts the candidate lists its inner cache knew. */
typedef struct counting_cache {
	sim_cache in;
	int hits, misses;
} counting_cache;

static int
counting_get_cands(void *ctx, const sim_layer *l, const sim_cand **c,
    int *n)
{
	counting_cache *cc = ctx;
	int got = cc->in.get_cands(cc->in.ctx, l, c, n);

	if (got != 0)
		cc->hits++;
	else
		cc->misses++;
	return got;
}

static void
counting_put_cands(void *ctx, const sim_layer *l, const sim_cand *c, int n)
{
	counting_cache *cc = ctx;

	cc->in.put_cands(cc->in.ctx, l, c, n);
}

static void
counting_good_cands(void *ctx, const sim_layer *l)
{
	counting_cache *cc = ctx;

	cc->in.good_cands(cc->in.ctx, l);
}

static int
counting_get_cost(void *ctx, const sim_layer *l, const sim_cand *split,
    sim_layer_result *r)
{
	counting_cache *cc = ctx;

	return cc->in.get_cost(cc->in.ctx, l, split, r);
}

static void
counting_put_cost(void *ctx, const sim_layer *l, const sim_cand *split,
    const sim_layer_result *r)
{
	counting_cache *cc = ctx;

	cc->in.put_cost(cc->in.ctx, l, split, r);
}

static void
check_upgrade(const char *fixture, int version)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "old.db");
	char src[PATH_MAX], cmd[2 * PATH_MAX + 16];
	old_net nets[16];
	int n = 0, costs, accs, reused = 0;
	struct stat before, after;
	sqlite3 *s;
	sqlite3_stmt *st;
	h4h_db *db;
	h4h_err err = { "" };
	int_ctx ctx;

	tu_src_path(src, sizeof src, fixture);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(stat(path, &before), 0);
	ck_assert_int_eq(sqlite3_open(path, &s), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(s, "PRAGMA user_version", -1, &st,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), version);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(s, "SELECT n.id, n.source, n.arch, "
	    "c.system_id, c.objective, c.latency_s, c.energy_j FROM networks n "
	    "JOIN network_costs c ON c.network_id = n.id ORDER BY 1, 4", -1,
	    &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < 16) {
		old_net *v = &nets[n++];
		const char *a = (const char *)sqlite3_column_text(st, 2);

		v->id = sqlite3_column_int64(st, 0);
		snprintf(v->source, sizeof v->source, "%s",
		    sqlite3_column_text(st, 1));
		v->arch = a ? strdup(a) : NULL;
		v->sys = sqlite3_column_int64(st, 3);
		snprintf(v->obj, sizeof v->obj, "%s",
		    sqlite3_column_text(st, 4));
		v->lat = sqlite3_column_double(st, 5);
		v->energy = sqlite3_column_double(st, 6);
	}
	sqlite3_finalize(st);
	sqlite3_close(s);
	ck_assert_int_eq(n, 10);

	db = db_open_ok(path, 0);
	ck_assert_int_eq(query_int(db, "PRAGMA user_version"),
	    H4H_DB_SCHEMA_VERSION);
	ck_assert_str_eq(query_text(db, "PRAGMA integrity_check", &ctx), "ok");
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM "
	    "pragma_foreign_key_check"), 0);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM networks"), 9);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM "
	    "pragma_table_info('networks') WHERE name = 'canon'"), 0);
	costs = (int)query_int(db, "SELECT count(*) FROM layer_costs");
	accs = (int)query_int(db, "SELECT count(*) FROM subnet_accuracy");
	ck_assert_int_eq(costs, 1252);
	ck_assert_int_eq(accs, 7);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM runs WHERE "
	    "status = 'done' AND network_id = 9"), 2);
	/* Every list in the new packing; labels deflated. */
	ck_assert_int_gt(query_int(db, "SELECT count(*) FROM "
	    "layer_candidates"), 0);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_candidates "
	    "WHERE length(cands) != 16 * n"), 0);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM networks WHERE "
	    "arch IS NOT NULL AND typeof(arch) != 'blob'"), 0);
	for (int i = 0; i < n; i++) {
		old_net *v = &nets[i];
		sim_objective obj = strcmp(v->obj, "energy") == 0 ?
		    SIM_OBJ_ENERGY : strcmp(v->obj, "edp") == 0 ? SIM_OBJ_EDP :
		    SIM_OBJ_LATENCY;
		sim_net *net = NULL;
		double lat, energy;
		int found;

		if (strcmp(v->source, "arch") == 0) {
			char *q;

			ck_assert_ptr_nonnull(v->arch);
			ck_assert_msg(sim_arch_parse(v->arch, "fixture", &net,
			    &err) == 0, "%s", err.msg);
			q = sqlite3_mprintf("SELECT h4h_inflate(arch) = %Q "
			    "FROM networks WHERE id = %lld", v->arch,
			    (long long)v->id);
			ck_assert_int_eq(query_int(db, q), 1);
			sqlite3_free(q);
		} else {
			tu_src_path(src, sizeof src, "nets/hybrid_example.json");
			ck_assert_msg(sim_net_load(src, &net, &err) == 0, "%s",
			    err.msg);
		}
		ck_assert_int_eq(h4h_db_net_cost_find(db, v->sys, net, obj,
		    &lat, &energy, &found, &err), 0);
		ck_assert_msg(found, "network %lld on system %lld not found "
		    "after the upgrade", (long long)v->id, (long long)v->sys);
		ck_assert_double_eq(lat, v->lat);
		ck_assert_double_eq(energy, v->energy);
		if (strcmp(v->source, "arch") == 0) {
			/* The search's system: its lists are reused, and
			 * give the stored cost again. */
			sim_profile p;
			counting_cache cc = { .hits = 0 };
			sim_cache c = { 0 };
			sim_result *r = NULL;
			int64_t sys;

			tu_src_path(src, sizeof src,
			    "hwprofiles/system-npu-1cim.ini");
			ck_assert_msg(sim_profile_open(src, NULL, 0, v->obj, &p,
			    &err) == 0, "%s", err.msg);
			ck_assert_int_eq(h4h_db_system(db, &p, &sys, &err), 0);
			ck_assert_int_eq(sys, v->sys);
			ck_assert_int_eq(h4h_db_cache(db, sys, &p, &cc.in,
			    &err), 0);
			c.ctx = &cc;
			c.get_cands = counting_get_cands;
			c.put_cands = counting_put_cands;
			c.good_cands = counting_good_cands;
			c.get_cost = counting_get_cost;
			c.put_cost = counting_put_cost;
			ck_assert_msg(sim_run_cached(&p, net, &c, &r,
			    &err) == 0, "%s", err.msg);
			ck_assert_int_eq(cc.misses, 0);
			ck_assert_int_gt(cc.hits, 0);
			ck_assert_double_eq(r->latency_s, v->lat);
			ck_assert_double_eq(r->energy_j, v->energy);
			reused++;
			sim_result_destroy(r);
		}
		sim_net_destroy(net);
		free(v->arch);
	}
	ck_assert_int_gt(reused, 0);
	ck_assert_int_eq(h4h_db_bad_rows(db, &(const char *){ NULL }), 0);
	h4h_db_close(db);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_int_lt(after.st_size, before.st_size);
	tu_tmpdir_remove(&t);
}

START_TEST(test_migrate_v4_fixture)
{
	check_upgrade("tests/fixtures/cost-v4.db", 4);
}
END_TEST

START_TEST(test_migrate_v5_fixture)
{
	check_upgrade("tests/fixtures/cost-v5.db", 5);
}
END_TEST

/* Whether another process sees a lock on path's SQLite lock bytes (the
 * shared range after the pending byte at 1 GiB), asked from a child. */
static int
locked_from_outside(const char *path)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
		    .l_start = 0x40000000 + 2, .l_len = 510 };
		int fd = open(path, O_RDWR);

		if (fd < 0 || fcntl(fd, F_GETLK, &fl) != 0)
			_exit(2);
		_exit(fl.l_type != F_UNLCK);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 2);
	return WEXITSTATUS(status);
}

/* A second handle on a file this process has open keeps the first one's
 * SQLite locks: h4h once read the header with open() and close(), which
 * drops every POSIX lock of the process on the file, so another process
 * took the file for unused, checkpointed and deleted the WAL under a
 * writer, and two `h4h reproduce` on one database corrupted it. */
START_TEST(test_second_handle_keeps_locks)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "locks.db");
	h4h_db *a = db_open_ok(path, H4H_DB_CREATE), *b;

	/* In WAL mode an open connection holds a shared lock on the file. */
	ck_assert_int_eq(query_int(a, "SELECT count(*) FROM systems"), 0);
	ck_assert_int_eq(locked_from_outside(path), 1);
	b = db_open_ok(path, 0);
	ck_assert_int_eq(locked_from_outside(path), 1);
	h4h_db_close(b);
	b = db_open_ok(path, H4H_DB_READONLY);
	ck_assert_int_eq(locked_from_outside(path), 1);
	h4h_db_close(b);
	h4h_db_close(a);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_open_create)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "new.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	FILE *f;

	ck_assert_str_eq(h4h_db_path(db), path);
	ck_assert_int_eq(query_int(db, "PRAGMA application_id"),
	    H4H_DB_APPLICATION_ID);
	ck_assert_int_eq(query_int(db, "PRAGMA user_version"),
	    H4H_DB_SCHEMA_VERSION);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name IN ('systems', 'layers', "
	    "'layer_candidates', 'layer_costs', 'networks', 'network_costs', "
	    "'sweeps', 'runs')"), 8);
	h4h_db_close(db);
	/* Again, without CREATE; and read-only. */
	db = db_open_ok(path, 0);
	h4h_db_close(db);
	db = db_open_ok(path, H4H_DB_READONLY);
	ck_assert_int_eq(query_int(db, "PRAGMA user_version"),
	    H4H_DB_SCHEMA_VERSION);
	h4h_db_close(db);
	/* An empty file is a new database. */
	path = tmp_make(&t, "empty.db");
	f = fopen(path, "w");
	fclose(f);
	db = db_open_ok(path, 0);
	ck_assert_int_eq(query_int(db, "PRAGMA application_id"),
	    H4H_DB_APPLICATION_ID);
	h4h_db_close(db);
	h4h_db_close(NULL);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_system_identity)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "sys.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	sim_profile p, q;
	int64_t a, b, c;
	int_ctx ctx;

	sim_profile_defaults(&p);
	snprintf(p.name, sizeof p.name, "first");
	a = system_ok(db, &p);
	q = p;
	snprintf(q.name, sizeof q.name, "renamed");
	b = system_ok(db, &q);
	ck_assert_int_eq(a, b);
	q.noc.bandwidth_gbps *= 2;
	c = system_ok(db, &q);
	ck_assert_int_ne(a, c);
	h4h_db_close(db);
	/* Another handle finds them in the file; the first name stays. */
	db = db_open_ok(path, 0);
	snprintf(p.name, sizeof p.name, "third");
	ck_assert_int_eq(system_ok(db, &p), a);
	ck_assert_int_eq(system_ok(db, &q), c);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM systems"), 2);
	ck_assert_str_eq(query_text(db, "SELECT name FROM systems ORDER BY id "
	    "LIMIT 1", &ctx), "first");
	ck_assert_int_eq(strlen(query_text(db, "SELECT hash FROM systems "
	    "LIMIT 1", &ctx)), 16);
	h4h_db_close(db);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_layer_cost_roundtrip)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "cost.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	sim_profile p;
	sim_layer l = mk_layer(3), renamed = l, other = mk_layer(4);
	sim_cand split = mk_split(40, 24, 2), split2 = mk_split(64, 0, 0);
	sim_layer_result put, want, got;
	sim_cache c;
	int64_t sys;

	sim_profile_defaults(&p);
	sys = system_ok(db, &p);
	c = cache_ok(db, sys);
	mk_result(5, &split, &put);
	put.start_ps = 12345;		/* relative to the layer: ignored */
	put.end_ps += put.start_ps;
	put.candidates = 9;
	put.simulated = 3;
	put.layer = &l;
	mk_result(5, &split, &want);
	ck_assert_int_eq(get_cost(&c, &l, &split, &got), 0);
	c.put_cost(c.ctx, &l, &split, &put);
	/* Pending: found in memory, under any name, not for another split
	 * or layer. */
	want.layer = &renamed;
	snprintf(renamed.name, sizeof renamed.name, "elsewhere");
	ck_assert_int_eq(get_cost(&c, &renamed, &split, &got), 1);
	assert_same_result(&got, &want);
	ck_assert_int_eq(get_cost(&c, &l, &split2, &got), 0);
	ck_assert_int_eq(get_cost(&c, &other, &split, &got), 0);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_costs"), 0);
	flush_ok(db);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_costs"), 1);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layers"), 1);
	want.layer = &l;
	ck_assert_int_eq(get_cost(&c, &l, &split, &got), 1);
	assert_same_result(&got, &want);
	/* A second put of the same key changes nothing (first wins). */
	mk_result(6, &split, &put);
	c.put_cost(c.ctx, &l, &split, &put);
	flush_ok(db);
	ck_assert_int_eq(get_cost(&c, &l, &split, &got), 1);
	assert_same_result(&got, &want);
	h4h_db_close(db);
	/* From the file, by a new handle. */
	db = db_open_ok(path, 0);
	c = cache_ok(db, system_ok(db, &p));
	ck_assert_int_eq(get_cost(&c, &l, &split, &got), 1);
	assert_same_result(&got, &want);
	ck_assert_int_eq(get_cost(&c, &l, &split2, &got), 0);
	ck_assert_int_eq(query_int(db, "SELECT end_ps FROM layer_costs"),
	    (long long)want.end_ps);
	ck_assert_int_eq(query_int(db, "SELECT macs FROM layer_costs"),
	    want.macs);
	/* Each value in its own column (a swap would still round-trip). */
	{
		const struct {
			const char *col;
			const double *v;
		} cols[] = { { "cycles", &want.cycles },
		    { "latency_s", &want.latency_s },
		    { "e_npu_j", &want.e_npu_j }, { "e_cim_j", &want.e_cim_j },
		    { "e_noc_j", &want.e_noc_j },
		    { "e_static_j", &want.e_static_j },
		    { "energy_j", &want.energy_j },
		    { "noc_bytes_npu", &want.noc_bytes_npu },
		    { "noc_bytes_cim", &want.noc_bytes_cim },
		    { "noc_busy_s", &want.noc_busy_s },
		    { "npu_busy_s", &want.npu_busy_s },
		    { "cim_busy_s", &want.cim_busy_s },
		    { "npu_fraction", &want.npu_fraction },
		    { "est_latency_s", &want.est_latency_s } };
		char sql[128];
		int_ctx ctx;

		for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
			snprintf(sql, sizeof sql, "SELECT %s FROM layer_costs",
			    cols[i].col);
			ck_assert_msg(strtod(query_text(db, sql, &ctx), NULL) ==
			    *cols[i].v, "column %s", cols[i].col);
		}
	}
	h4h_db_close(db);
	tu_tmpdir_remove(&t);
}
END_TEST

/* -0.0 cannot survive SQLite's REAL affinity: memory and file agree on
 * +0.0; a NaN is refused (the flush reports it). */
START_TEST(test_layer_cost_zero_and_nan)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "zero.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	sim_profile p;
	sim_layer l = mk_layer(1);
	sim_cand split = mk_split(64, 0, 0), split2 = mk_split(32, 32, 1);
	sim_layer_result put, got;
	h4h_err err = { "" };
	sim_cache c;
	int64_t sys;

	sim_profile_defaults(&p);
	sys = system_ok(db, &p);
	c = cache_ok(db, sys);
	mk_result(1, &split, &put);
	put.e_cim_j = -0.0;
	c.put_cost(c.ctx, &l, &split, &put);
	ck_assert_int_eq(get_cost(&c, &l, &split, &got), 1);
	ck_assert(!signbit(got.e_cim_j) && got.e_cim_j == 0);
	mk_result(2, &split2, &put);
	put.noc_busy_s = NAN;
	c.put_cost(c.ctx, &l, &split2, &put);
	ck_assert_int_eq(get_cost(&c, &l, &split2, &got), 0);
	ck_assert_int_ne(h4h_db_flush(db, &err), 0);
	ck_assert_msg(strstr(err.msg, "not a number") != NULL, "%s", err.msg);
	flush_ok(db);		/* reported once; the rest is written */
	h4h_db_close(db);
	db = db_open_ok(path, 0);
	c = cache_ok(db, sys);
	ck_assert_int_eq(get_cost(&c, &l, &split, &got), 1);
	ck_assert(!signbit(got.e_cim_j) && got.e_cim_j == 0);
	h4h_db_close(db);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_cands_roundtrip)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "cands.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	h4h_err err = { "" };
	sim_profile p;
	sim_layer l = mk_layer(2);
	sim_cand *put;
	const sim_cand *got;
	sim_cache c;
	int64_t sys;
	int n = 0, np;
	int_ctx ctx;

	sim_profile_defaults(&p);
	p.cim.macros = 2;
	put = calloc(sim_cands_max(&p, &l), sizeof *put);
	np = sim_cands_layout(&p, &l, put);
	ck_assert_int_gt(np, 2);
	for (int i = 0; i < np; i++) {
		put[i].est_latency_s = (i + 1) * 1e-6 / 11.0;
		put[i].est_energy_j = (i + 1) * 1e-9 / 13.0;
	}
	sys = system_ok(db, &p);
	ck_assert_msg(h4h_db_cache(db, sys, &p, &c, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(c.get_cands(c.ctx, &l, &got, &n), 0);
	c.put_cands(c.ctx, &l, put, np);
	/* A list the engine built is trusted (2); one read from the file is
	 * checked once (1), then trusted after good_cands. */
	ck_assert_int_eq(c.get_cands(c.ctx, &l, &got, &n), 2);
	ck_assert_int_eq(n, np);
	ck_assert(memcmp(got, put, (size_t)np * sizeof *put) == 0);
	flush_ok(db);
	/* 16 bytes per candidate, its latency estimate little-endian first
	 * (1e-6 / 11 is 0x3E786739A3F15987). */
	ck_assert_int_eq(query_int(db, "SELECT length(cands) FROM "
	    "layer_candidates"), np * 16);
	ck_assert_str_eq(query_text(db, "SELECT hex(substr(cands, 1, 8)) "
	    "FROM layer_candidates", &ctx), "8759F1A33967783E");
	h4h_db_close(db);
	db = db_open_ok(path, 0);
	ck_assert_msg(h4h_db_cache(db, sys, &p, &c, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(c.get_cands(c.ctx, &l, &got, &n), 1);
	c.good_cands(c.ctx, &l);
	ck_assert_int_eq(c.get_cands(c.ctx, &l, &got, &n), 2);
	ck_assert_int_eq(n, np);
	for (int i = 0; i < np; i++) {
		ck_assert_int_eq(got[i].npu_channels, put[i].npu_channels);
		ck_assert_int_eq(got[i].cim_channels, put[i].cim_channels);
		ck_assert_int_eq(got[i].macros, put[i].macros);
		SAME(&got[i], &put[i], cim_weight_bytes);
		SAME(&got[i], &put[i], max_macro_bytes);
		SAME(&got[i], &put[i], est_latency_s);
		SAME(&got[i], &put[i], est_energy_j);
	}
	h4h_db_close(db);
	/* A list whose length is not the system's layout is a miss, reported
	 * once, and the engine's list then replaces it in memory. */
	db = db_open_ok(path, 0);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_candidates"),
	    1);
	{
		sqlite3 *s;

		ck_assert_int_eq(sqlite3_open(path, &s), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(s, "UPDATE layer_candidates SET "
		    "n = n - 1, cands = substr(cands, 1, length(cands) - 16)",
		    NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(s);
	}
	ck_assert_msg(h4h_db_cache(db, sys, &p, &c, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(c.get_cands(c.ctx, &l, &got, &n), 0);
	ck_assert_int_eq(h4h_db_bad_rows(db, &(const char *){ NULL }), 1);
	c.put_cands(c.ctx, &l, put, np);
	ck_assert_int_eq(c.get_cands(c.ctx, &l, &got, &n), 2);
	ck_assert_int_eq(n, np);
	h4h_db_close(db);
	free(put);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_net_cost_roundtrip)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "net.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	sim_net *net = mk_net("tiny", 0), *same = mk_net("other name", 0),
	    *diff = mk_net("tiny", 1);
	h4h_err err = { "" };
	sim_profile p;
	sim_result r, r2;
	int64_t sys, nid;
	double lat = 0, en = 0;
	int found = -1;

	sim_profile_defaults(&p);
	sys = system_ok(db, &p);
	nid = network_ok(db, net);
	ck_assert_int_eq(network_ok(db, same), nid);
	ck_assert_int_ne(network_ok(db, diff), nid);
	ck_assert_int_eq(h4h_db_network(db, net, "onnx", NULL, &nid, &err),
	    H4H_EINPUT);
	mk_net_result(1, SIM_OBJ_ENERGY, &r);
	ck_assert_int_eq(h4h_db_net_cost_get(db, sys, nid, SIM_OBJ_ENERGY,
	    &lat, &en, &found, &err), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(h4h_db_net_cost_put(db, sys, nid, &r, &err), 0);
	ck_assert_int_eq(h4h_db_net_cost_get(db, sys, nid, SIM_OBJ_ENERGY,
	    &lat, &en, &found, &err), 0);
	ck_assert(found == 1 && memcmp(&lat, &r.latency_s, sizeof lat) == 0 &&
	    memcmp(&en, &r.energy_j, sizeof en) == 0);
	/* Another objective is another cost; a second put does not replace. */
	ck_assert_int_eq(h4h_db_net_cost_get(db, sys, nid, SIM_OBJ_LATENCY,
	    &lat, &en, &found, &err), 0);
	ck_assert_int_eq(found, 0);
	mk_net_result(2, SIM_OBJ_ENERGY, &r2);
	ck_assert_int_eq(h4h_db_net_cost_put(db, sys, nid, &r2, &err), 0);
	/* Unknown ids are bad input. */
	ck_assert_int_eq(h4h_db_net_cost_put(db, sys, nid + 100, &r, &err),
	    H4H_EINPUT);
	flush_ok(db);
	h4h_db_close(db);
	db = db_open_ok(path, 0);
	ck_assert_int_eq(h4h_db_net_cost_get(db, sys, nid, SIM_OBJ_ENERGY,
	    &lat, &en, &found, &err), 0);
	ck_assert(found == 1 && memcmp(&lat, &r.latency_s, sizeof lat) == 0 &&
	    memcmp(&en, &r.energy_j, sizeof en) == 0);
	ck_assert_int_eq(query_int(db, "SELECT macs FROM network_costs"),
	    r.macs);
	{
		const struct {
			const char *col;
			const double *v;
		} cols[] = { { "latency_s", &r.latency_s },
		    { "energy_j", &r.energy_j }, { "cycles", &r.cycles },
		    { "e_npu_j", &r.e_npu_j }, { "e_cim_j", &r.e_cim_j },
		    { "e_noc_j", &r.e_noc_j }, { "e_static_j", &r.e_static_j },
		    { "noc_bytes_npu", &r.noc_bytes_npu },
		    { "noc_bytes_cim", &r.noc_bytes_cim },
		    { "cim_weight_bytes", &r.cim_weight_bytes } };
		char sql[128];
		int_ctx ctx;

		for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
			snprintf(sql, sizeof sql, "SELECT %s FROM "
			    "network_costs", cols[i].col);
			ck_assert_msg(strtod(query_text(db, sql, &ctx), NULL) ==
			    *cols[i].v, "column %s", cols[i].col);
		}
	}
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM network_costs "
	    "WHERE objective = 'energy' AND created_at IS NOT NULL"), 1);
	ck_assert_int_eq(query_int(db, "SELECT n_layers FROM networks "
	    "WHERE id = 1"), 2);
	h4h_db_close(db);
	sim_net_destroy(net);
	sim_net_destroy(same);
	sim_net_destroy(diff);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_sweep_resume)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "sweep.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	const char *params[3] = { "a=1", "a=2", "a=3" };
	sim_net *net = mk_net("n", 0);
	h4h_err err = { "" };
	sim_profile p;
	int64_t id, id2, sys, nid;
	int created, point, done, failed, total;
	int_ctx ctx;

	sim_profile_defaults(&p);
	sys = system_ok(db, &p);
	nid = network_ok(db, net);
	ck_assert_int_eq(h4h_db_sweep_begin(db, "sweep A", 3, params, &id,
	    &created, &err), 0);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(h4h_db_run_claim(db, id, &point, &err), 0);
	ck_assert_int_eq(point, 0);
	ck_assert_int_eq(h4h_db_run_finish(db, id, point, sys, nid, &err), 0);
	ck_assert_int_eq(h4h_db_run_claim(db, id, &point, &err), 0);
	ck_assert_int_eq(point, 1);
	ck_assert_int_eq(h4h_db_run_fail(db, id, point, "boom, \"x\"", &err),
	    0);
	ck_assert_int_eq(h4h_db_sweep_end(db, id, &err), 0);
	ck_assert_str_eq(query_text(db, "SELECT status FROM sweeps", &ctx),
	    "running");
	h4h_db_close(db);
	/* Resumed: the same id, finished runs kept, the failed one pending
	 * again (a rerun retries it). */
	db = db_open_ok(path, 0);
	ck_assert_int_eq(h4h_db_sweep_begin(db, "sweep A", 3, params, &id2,
	    &created, &err), 0);
	ck_assert_int_eq(created, 0);
	ck_assert_int_eq(id2, id);
	ck_assert_int_eq(h4h_db_sweep_begin(db, "sweep A", 4, params, &id2,
	    &created, &err), H4H_EINPUT);
	ck_assert_int_eq(h4h_db_sweep_progress(db, id, &done, &failed, &total,
	    &err), 0);
	ck_assert(done == 1 && failed == 0 && total == 3);
	ck_assert_int_eq(h4h_db_run_claim(db, id, &point, &err), 0);
	ck_assert_int_eq(point, 1);
	ck_assert_int_eq(h4h_db_run_claim(db, id, &point, &err), 0);
	ck_assert_int_eq(point, 2);
	ck_assert_str_eq(query_text(db, "SELECT params FROM runs WHERE point "
	    "= 2", &ctx), "a=3");
	ck_assert_int_eq(query_int(db, "SELECT pid FROM runs WHERE point = 2"),
	    getpid());
	ck_assert_int_eq(h4h_db_run_claim(db, id, &point, &err), 0);
	ck_assert_int_eq(point, -1);
	ck_assert_int_eq(h4h_db_run_finish(db, id, 2, sys, nid, &err), 0);
	/* Point 1 is still running: the sweep is not done until it is. */
	ck_assert_int_eq(h4h_db_sweep_end(db, id, &err), 0);
	ck_assert_str_eq(query_text(db, "SELECT status FROM sweeps", &ctx),
	    "running");
	ck_assert_int_eq(h4h_db_run_finish(db, id, 1, sys, nid, &err), 0);
	ck_assert_int_eq(h4h_db_sweep_end(db, id, &err), 0);
	ck_assert_str_eq(query_text(db, "SELECT status FROM sweeps", &ctx),
	    "done");
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM sweeps WHERE "
	    "ended_at IS NOT NULL"), 1);
	/* Unknown sweeps and points. */
	ck_assert_int_eq(h4h_db_run_claim(db, id + 1, &point, &err),
	    H4H_EINPUT);
	ck_assert_int_eq(h4h_db_run_finish(db, id, 7, sys, nid, &err),
	    H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "no point 7") != NULL, "%s", err.msg);
	h4h_db_close(db);
	sim_net_destroy(net);
	tu_tmpdir_remove(&t);
}
END_TEST

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_export)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "export.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	const char *params[2] = { "x=1", "x=\"2\", y" };
	sim_net *net = mk_net("n", 0);
	sim_layer l = mk_layer(0);
	sim_cand split = mk_split(64, 0, 0);
	sim_layer_result lr;
	h4h_err err = { "" };
	sim_profile p;
	sim_result r;
	sim_cache c;
	int64_t sys, nid, sweep;
	json_t *root;
	json_error_t jerr;
	char *buf = NULL;
	size_t len = 0;
	int created, point;
	FILE *f;

	sim_profile_defaults(&p);
	snprintf(p.name, sizeof p.name, "npu, \"big\"");
	sys = system_ok(db, &p);
	nid = network_ok(db, net);
	c = cache_ok(db, sys);
	for (int i = 0; i < 3; i++) {
		split.npu_channels = 64 - i;
		mk_result(i, &split, &lr);
		c.put_cost(c.ctx, &l, &split, &lr);
	}
	mk_net_result(1, SIM_OBJ_LATENCY, &r);
	ck_assert_int_eq(h4h_db_net_cost_put(db, sys, nid, &r, &err), 0);
	ck_assert_int_eq(h4h_db_sweep_begin(db, "s", 2, params, &sweep,
	    &created, &err), 0);
	ck_assert_int_eq(h4h_db_run_claim(db, sweep, &point, &err), 0);
	ck_assert_int_eq(h4h_db_run_finish(db, sweep, point, sys, nid, &err),
	    0);

	/* CSV: a header and one line per row; RFC 4180 quoting. */
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(h4h_db_export(db, "table:layer_costs", "csv", f, &err),
	    0);
	fclose(f);
	ck_assert_int_eq(count_lines(buf), 4);
	ck_assert(strncmp(buf, "system_id,layer_id,npu_channels,", 32) == 0);
	{
		/* The layer's id follows the network's two layers. */
		char want[32];

		snprintf(want, sizeof want, "\n1,%lld,62,0,0,", query_int(db,
		    "SELECT DISTINCT layer_id FROM layer_costs"));
		ck_assert_ptr_nonnull(strstr(buf, want));
	}
	free(buf);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(h4h_db_export(db, "table:systems", "csv", f, &err), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, ",\"npu, \"\"big\"\"\","));
	free(buf);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(h4h_db_export(db, "sweep:1", "csv", f, &err), 0);
	fclose(f);
	ck_assert_int_eq(count_lines(buf), 3);
	ck_assert_ptr_nonnull(strstr(buf, "\n1,\"x=\"\"2\"\", y\",pending,"));
	ck_assert_ptr_nonnull(strstr(buf, ",done,1,1,latency,"));
	free(buf);

	/* JSON: valid, numbers as numbers, doubles exact. */
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(h4h_db_export(db, "table:layer_costs", "json", f,
	    &err), 0);
	fclose(f);
	root = json_loads(buf, 0, &jerr);
	ck_assert_msg(root != NULL, "%s: %s", jerr.text, buf);
	ck_assert_int_eq(json_array_size(root), 3);
	split.npu_channels = 62;	/* the first row in key order */
	mk_result(2, &split, &lr);
	{
		json_t *row = json_array_get(root, 0);
		json_t *lat = json_object_get(row, "latency_s");
		json_t *end = json_object_get(row, "end_ps");

		ck_assert(json_is_real(lat));
		ck_assert(json_real_value(lat) == lr.latency_s);
		ck_assert(json_is_integer(end));
		ck_assert_int_eq(json_integer_value(end), (long long)lr.end_ps);
	}
	json_decref(root);
	free(buf);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(h4h_db_export(db, "network:1", "json", f, &err), 0);
	fclose(f);
	root = json_loads(buf, 0, &jerr);
	ck_assert_msg(root != NULL, "%s: %s", jerr.text, buf);
	ck_assert_int_eq(json_array_size(root), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(root,
	    0), "system")), "npu, \"big\"");
	ck_assert(json_real_value(json_object_get(json_array_get(root, 0),
	    "energy_j")) == r.energy_j);
	json_decref(root);
	free(buf);
	/* An empty table is an empty array. */
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(h4h_db_export(db, "table:layer_candidates", "json", f,
	    &err), 0);
	fclose(f);
	ck_assert_str_eq(buf, "[]\n");
	free(buf);

	/* Bad selectors name themselves. */
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(h4h_db_export(db, "table:sqlite_master", "csv", f,
	    &err), H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "'sqlite_master'"));
	ck_assert_int_eq(h4h_db_export(db, "bogus:1", "csv", f, &err),
	    H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "'bogus:1'"));
	ck_assert_int_eq(h4h_db_export(db, "sweep:x", "csv", f, &err),
	    H4H_EINPUT);
	ck_assert_int_eq(h4h_db_export(db, "sweep:9", "csv", f, &err),
	    H4H_EINPUT);
	ck_assert_int_eq(h4h_db_export(db, "network:9", "csv", f, &err),
	    H4H_EINPUT);
	ck_assert_int_eq(h4h_db_export(db, "table:runs", "xml", f, &err),
	    H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "'xml'"));
	fclose(f);
	free(buf);

	/* The summary names what is there. */
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(h4h_db_summary(db, f, &err), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "layer_costs 3"));
	ck_assert_ptr_nonnull(strstr(buf, "npu, \"big\""));
	ck_assert_ptr_nonnull(strstr(buf, "1/2"));
	free(buf);
	h4h_db_close(db);
	sim_net_destroy(net);
	tu_tmpdir_remove(&t);
}
END_TEST

typedef struct rows_ctx {
	int rows, ncol;
	char first[64];
} rows_ctx;

static int
rows_row(void *vctx, int ncol, const char *const *names,
    const char *const *values)
{
	rows_ctx *ctx = vctx;

	if (ctx->rows++ == 0)
		snprintf(ctx->first, sizeof ctx->first, "%s=%s", names[0],
		    values[0] ? values[0] : "NULL");
	ctx->ncol = ncol;
	return ctx->rows == 2;		/* stop after two */
}

START_TEST(test_select)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "select.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	static const char *const writes[] = { "DELETE FROM layers",
	    "CREATE TABLE x(a)", "INSERT INTO sweeps (args, n_points, status) "
	    "VALUES ('x', 0, 'done')", "PRAGMA user_version = 5",
	    "DROP TABLE runs", "ATTACH DATABASE ':memory:' AS m",
	    "SELECT 1; DELETE FROM layers" };
	sim_profile p;
	h4h_err err = { "" };
	rows_ctx ctx = { 0, 0, "" };
	sim_cache c;
	sim_layer l = mk_layer(0);
	sim_cand split = mk_split(1, 0, 0);
	sim_layer_result r;

	sim_profile_defaults(&p);
	c = cache_ok(db, system_ok(db, &p));
	for (int i = 0; i < 5; i++) {
		split.npu_channels = i + 1;
		mk_result(i, &split, &r);
		c.put_cost(c.ctx, &l, &split, &r);
	}
	flush_ok(db);
	for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
		ck_assert_int_eq(h4h_db_select(db, writes[i], rows_row, &ctx,
		    &err), H4H_EINPUT);
		ck_assert_msg(strstr(err.msg, "read-only") != NULL ||
		    strstr(err.msg, "one statement") != NULL, "%s: %s",
		    writes[i], err.msg);
	}
	ck_assert_int_eq(ctx.rows, 0);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layers"), 1);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'x'"), 0);
	ck_assert_int_eq(query_int(db, "PRAGMA user_version"),
	    H4H_DB_SCHEMA_VERSION);
	/* Rows, names, NULLs, early stop; exact doubles. */
	ck_assert_int_eq(h4h_db_select(db, "SELECT npu_channels AS n, NULL, "
	    "latency_s FROM layer_costs ORDER BY n", rows_row, &ctx, &err), 0);
	ck_assert_int_eq(ctx.rows, 2);
	ck_assert_int_eq(ctx.ncol, 3);
	ck_assert_str_eq(ctx.first, "n=1");
	mk_result(0, &split, &r);
	{
		int_ctx ictx;

		ck_assert(strtod(query_text(db, "SELECT latency_s FROM "
		    "layer_costs WHERE npu_channels = 1", &ictx), NULL) ==
		    r.latency_s);
	}
	/* Read-only pragmas are fine; SQL errors carry SQLite's message. */
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM "
	    "pragma_table_info('layers')"), 6);
	ck_assert_int_eq(h4h_db_select(db, "SELECT * FROM nosuch", rows_row,
	    &ctx, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "no such table") != NULL, "%s", err.msg);
	ck_assert_int_eq(h4h_db_select(db, "  ", rows_row, &ctx, &err),
	    H4H_EINPUT);
	/* The handle still writes after a refused query. */
	split.npu_channels = 99;
	c.put_cost(c.ctx, &l, &split, &r);
	flush_ok(db);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_costs"), 6);
	h4h_db_close(db);
	tu_tmpdir_remove(&t);
}
END_TEST

/* A failed batch stays pending, and the layer ids it handed out are not
 * trusted afterwards. */
START_TEST(test_failed_batch_kept)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "retry.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	const char *params[1] = { "p" };
	sim_net *net = mk_net("n", 0);
	h4h_err err = { "" };
	sim_profile p;
	sim_layer_result r, got;
	sim_cache c;
	int64_t sys, nid, sweep;
	int created;

	sim_profile_defaults(&p);
	sys = system_ok(db, &p);
	nid = network_ok(db, net);
	c = cache_ok(db, sys);
	ck_assert_int_eq(h4h_db_sweep_begin(db, "s", 1, params, &sweep,
	    &created, &err), 0);
	for (int i = 0; i < 10; i++) {
		sim_layer l = mk_layer(i);
		sim_cand split = mk_split(8, 8, 1);

		mk_result(i, &split, &r);
		c.put_cost(c.ctx, &l, &split, &r);
	}
	/* Point 5 does not exist: the batch rolls back. */
	ck_assert_int_eq(h4h_db_run_finish(db, sweep, 5, sys, nid, &err),
	    H4H_EINPUT);
	/* Only the network's two layers (schema v5 keeps a network as its
	 * layers' ids). */
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layers"), 2);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_costs"), 0);
	/* Another process takes the first ids meanwhile. */
	{
		sqlite3 *s;

		ck_assert_int_eq(sqlite3_open(path, &s), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(s, "INSERT INTO layers (hash, "
		    "key, op) VALUES ('0', 'someone else 1', 'conv'), "
		    "('0', 'someone else 2', 'conv')", NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(s);
	}
	flush_ok(db);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layers"), 14);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_costs c "
	    "JOIN layers l ON l.id = c.layer_id WHERE l.key LIKE 'conv%'"), 10);
	h4h_db_close(db);
	db = db_open_ok(path, 0);
	c = cache_ok(db, sys);
	for (int i = 0; i < 10; i++) {
		sim_layer l = mk_layer(i);
		sim_cand split = mk_split(8, 8, 1);

		mk_result(i, &split, &r);
		r.layer = &l;
		ck_assert_int_eq(get_cost(&c, &l, &split, &got), 1);
		assert_same_result(&got, &r);
	}
	h4h_db_close(db);
	sim_net_destroy(net);
	tu_tmpdir_remove(&t);
}
END_TEST

/* ---- Limits ------------------------------------------------------------- */

/* Both writers start from a missing file. */

#define WRITER_KEYS 2000
#define WRITER_SPLITS 10

/* Key k: layer k / WRITER_SPLITS, split k % WRITER_SPLITS. */
static void
key_of(int k, sim_layer *l, sim_cand *split)
{
	*l = mk_layer(k / WRITER_SPLITS);
	*split = mk_split(1 + k % WRITER_SPLITS, 0, 0);
}

static void
nap_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	nanosleep(&ts, NULL);
}

static int
writer(const char *path, int first)
{
	h4h_err err = { "" };
	sim_profile p;
	sim_cache c;
	h4h_db *db;
	int64_t sys;

	if (h4h_db_open(path, H4H_DB_CREATE, &db, &err) != 0) {
		fprintf(stderr, "writer %d: %s\n", first, err.msg);
		return 1;
	}
	sim_profile_defaults(&p);
	if (h4h_db_system(db, &p, &sys, &err) != 0 ||
	    h4h_db_cache(db, sys, &p, &c, &err) != 0)
		return 2;
	for (int k = first; k < first + WRITER_KEYS; k++) {
		sim_layer l;
		sim_cand split;
		sim_layer_result r;

		key_of(k, &l, &split);
		mk_result(k, &split, &r);
		c.put_cost(c.ctx, &l, &split, &r);
		if ((k - first) % 100 == 99) {
			if (h4h_db_flush(db, &err) != 0) {
				fprintf(stderr, "writer %d: %s\n", first,
				    err.msg);
				return 3;
			}
			nap_us(500);
		}
	}
	h4h_db_close(db);
	return 0;
}

START_TEST(test_concurrent_writers)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "two.db");
	int firsts[2] = { 0, WRITER_KEYS / 2 }, status, total;
	pid_t pids[2];
	sim_cache c;
	h4h_db *db;
	int_ctx ctx;

	/* Both create the file, the schema and the system at once too. */
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0)
			_exit(writer(path, firsts[i]));
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "writer %d: status %d", i, status);
	}
	total = WRITER_KEYS + WRITER_KEYS / 2;
	db = db_open_ok(path, 0);
	ck_assert_str_eq(query_text(db, "PRAGMA integrity_check", &ctx), "ok");
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_costs"),
	    total);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layers"),
	    total / WRITER_SPLITS);
	ck_assert_int_eq(query_int(db, "SELECT count(DISTINCT key) FROM "
	    "layers"), total / WRITER_SPLITS);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM (SELECT 1 FROM "
	    "layer_costs GROUP BY system_id, layer_id, npu_channels, "
	    "cim_channels, macros HAVING count(*) > 1)"), 0);
	c = cache_ok(db, 1);
	for (int k = 0; k < total; k++) {
		sim_layer l;
		sim_cand split;
		sim_layer_result want, got;

		key_of(k, &l, &split);
		mk_result(k, &split, &want);
		want.layer = &l;
		ck_assert_int_eq(get_cost(&c, &l, &split, &got), 1);
		assert_same_result(&got, &want);
	}
	h4h_db_close(db);
	tu_tmpdir_remove(&t);
}
END_TEST

#define CRASH_POINTS 5000
#define CRASH_BATCH 200

/* Claims points and finishes each with CRASH_BATCH layer costs, until
 * killed. */
static int
crash_worker(const char *path, int64_t sweep, int64_t sys, int64_t nid)
{
	h4h_err err = { "" };
	sim_profile p;
	sim_cache c;
	h4h_db *db;
	int point;

	sim_profile_defaults(&p);
	if (h4h_db_open(path, 0, &db, &err) != 0 ||
	    h4h_db_cache(db, sys, &p, &c, &err) != 0)
		return 1;
	for (;;) {
		sim_layer l;

		if (h4h_db_run_claim(db, sweep, &point, &err) != 0)
			return 2;
		if (point < 0)
			return 0;
		l = mk_layer(point);
		for (int s = 0; s < CRASH_BATCH; s++) {
			sim_cand split = mk_split(1 + s, 0, 0);
			sim_layer_result r;

			mk_result(point * CRASH_BATCH + s, &split, &r);
			c.put_cost(c.ctx, &l, &split, &r);
		}
		if (h4h_db_run_finish(db, sweep, point, sys, nid, &err) != 0)
			return 3;
	}
}

START_TEST(test_sigkill_while_writing)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "crash.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	char **params = calloc(CRASH_POINTS, sizeof *params);
	sim_net *net = mk_net("n", 0);
	h4h_err err = { "" };
	sim_profile p;
	int64_t sys, nid, sweep;
	int created, done = 0, failed, total, status, point;
	long long n_done, running;
	pid_t pid;
	int_ctx ctx;

	for (int i = 0; i < CRASH_POINTS; i++) {
		params[i] = malloc(16);
		snprintf(params[i], 16, "i=%d", i);
	}
	sim_profile_defaults(&p);
	sys = system_ok(db, &p);
	nid = network_ok(db, net);
	ck_assert_int_eq(h4h_db_sweep_begin(db, "crash", CRASH_POINTS,
	    (const char *const *)params, &sweep, &created, &err), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(crash_worker(path, sweep, sys, nid));
	/* Kill it mid-stream: after some points, at an arbitrary moment. */
	for (int tries = 0; done < 20 && tries < 5000; tries++) {
		nap_us(2000);
		ck_assert_int_eq(h4h_db_sweep_progress(db, sweep, &done,
		    &failed, &total, &err), 0);
	}
	ck_assert_int_ge(done, 20);
	nap_us(1000 + rand() % 5000);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	h4h_db_close(db);

	db = db_open_ok(path, 0);
	ck_assert_str_eq(query_text(db, "PRAGMA integrity_check", &ctx), "ok");
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM "
	    "pragma_foreign_key_check"), 0);
	n_done = query_int(db, "SELECT count(*) FROM runs WHERE status = "
	    "'done'");
	ck_assert_int_lt(n_done, CRASH_POINTS);
	/* Every committed run is complete and has all its costs, and no
	 * cost row lacks a value. */
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM runs WHERE "
	    "status = 'done' AND (system_id IS NULL OR network_id IS NULL OR "
	    "ended_at IS NULL OR started_at IS NULL OR pid IS NULL)"), 0);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_costs"),
	    n_done * CRASH_BATCH);
	/* Each done point's layer, and the two of the sweep's network. */
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layers"),
	    n_done + 2);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_costs WHERE "
	    "latency_s IS NULL OR energy_j IS NULL OR end_ps IS NULL OR "
	    "est_latency_s IS NULL OR typeof(latency_s) != 'real'"), 0);
	ck_assert_int_eq(query_int(db, "SELECT sum(cs.n != 200) FROM "
	    "(SELECT count(*) AS n FROM layer_costs GROUP BY layer_id) cs"), 0);
	/* The point the dead worker held is claimed again, first. */
	running = query_int(db, "SELECT count(*) FROM runs WHERE status = "
	    "'running'");
	ck_assert_int_le(running, 1);
	ck_assert_int_eq(h4h_db_run_claim(db, sweep, &point, &err), 0);
	ck_assert_int_eq(point, n_done);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM runs WHERE status "
	    "= 'running'"), 1);
	h4h_db_close(db);
	for (int i = 0; i < CRASH_POINTS; i++)
		free(params[i]);
	free(params);
	sim_net_destroy(net);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_claim_dead_pid)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "claim.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	const char *params[3] = { "a", "b", "c" };
	h4h_err err = { "" };
	int64_t sweep;
	int created, point, status;
	pid_t pid;

	ck_assert_int_eq(h4h_db_sweep_begin(db, "s", 3, params, &sweep,
	    &created, &err), 0);
	h4h_db_close(db);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int pt = -1;

		if (h4h_db_open(path, 0, &db, &err) != 0 ||
		    h4h_db_run_claim(db, sweep, &pt, &err) != 0 || pt != 0)
			_exit(1);
		_exit(0);	/* dies holding point 0 */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	db = db_open_ok(path, 0);
	ck_assert_int_eq(query_int(db, "SELECT pid FROM runs WHERE point = 0"),
	    pid);
	ck_assert_int_eq(h4h_db_run_claim(db, sweep, &point, &err), 0);
	ck_assert_int_eq(point, 0);
	ck_assert_int_eq(query_int(db, "SELECT pid FROM runs WHERE point = 0"),
	    getpid());
	/* A live process keeps its point. */
	ck_assert_int_eq(h4h_db_run_claim(db, sweep, &point, &err), 0);
	ck_assert_int_eq(point, 1);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM runs WHERE "
	    "status = 'running'"), 2);
	h4h_db_close(db);
	tu_tmpdir_remove(&t);
}
END_TEST

/*
 * A file of schema version 2 (written before model revisions) opens: it is
 * migrated, its system and costs are kept under revision 1, and the same
 * profile is now another system whose costs start empty, so a changed model
 * never serves the old numbers.  `h4h db summary` shows both revisions.
 */
START_TEST(test_migrate_keeps_old_costs_unused)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "old.db");
	sim_profile p;
	sim_layer l = mk_layer(1);
	sim_cand c = mk_split(64, 0, 0);
	sim_layer_result r, got;
	sim_cache cache;
	h4h_db *db;
	h4h_err err = { "" };
	int64_t old_id, new_id;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	sim_profile_defaults(&p);
	db = db_open_ok(path, H4H_DB_CREATE);
	old_id = system_ok(db, &p);
	cache = cache_ok(db, old_id);
	mk_result(3, &c, &r);
	cache.put_cost(cache.ctx, &l, &c, &r);
	flush_ok(db);
	h4h_db_close(db);
	/* Turn it into what model revision 1 wrote: schema 2, no revision
	 * line. */
	sqlite_make(path, "UPDATE systems SET canon = substr(canon, "
	    "instr(canon, char(10)) + 1); ALTER TABLE systems DROP COLUMN "
	    "model_revision; DROP TABLE subnet_accuracy; "
	    "DROP INDEX networks_hash; ALTER TABLE networks RENAME COLUMN "
	    "body TO canon; PRAGMA user_version = 2;");

	db = db_open_ok(path, 0);
	ck_assert_int_eq(query_int(db, "PRAGMA user_version"),
	    H4H_DB_SCHEMA_VERSION);
	new_id = system_ok(db, &p);
	ck_assert_int_ne(new_id, old_id);
	cache = cache_ok(db, new_id);
	ck_assert_int_eq(cache.get_cost(cache.ctx, &l, &c, &got), 0);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM layer_costs"), 1);
	ck_assert_int_eq(query_int(db, "SELECT model_revision FROM systems "
	    "WHERE id = 1"), 1);
	ck_assert_int_eq(query_int(db, "SELECT max(model_revision) FROM "
	    "systems"), SIM_MODEL_REVISION);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(h4h_db_summary(db, f, &err), 0);
	fclose(f);
	ck_assert_msg(strstr(buf, "model revisions (this build: 2") != NULL,
	    "%s", buf);
	/* Columns are as wide as their header ("layer_costs": 11). */
	ck_assert_msg(strstr(buf, "\n           1          1           1\n") !=
	    NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "\n           2          1           0\n") !=
	    NULL, "%s", buf);
	free(buf);
	h4h_db_close(db);
	tu_tmpdir_remove(&t);
}
END_TEST

/* ---- Errors ------------------------------------------------------------- */

static void
assert_refused(const char *path, int flags, const char *needle)
{
	h4h_err err = { "" };
	h4h_db *db = (h4h_db *)1;

	ck_assert_int_eq(h4h_db_open(path, flags, &db, &err), H4H_EINPUT);
	ck_assert_ptr_null(db);
	ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' not in '%s'",
	    needle, err.msg);
	ck_assert_msg(strstr(err.msg, path) != NULL, "%s", err.msg);
	ck_assert_msg(strncmp(err.msg, "h4h:", 4) != 0, "%s", err.msg);
}

static int
exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* Refused and left exactly as it was, with no journal beside it. */
static void
assert_refused_untouched(const char *path, int flags, const char *needle)
{
	char side[160];
	struct stat before, after;
	size_t n0, n1;
	char *c0, *c1;

	ck_assert_int_eq(stat(path, &before), 0);
	c0 = slurp(path, &n0);
	assert_refused(path, flags, needle);
	assert_refused(path, flags | H4H_DB_CREATE, needle);
	assert_refused(path, H4H_DB_READONLY, needle);
	ck_assert_int_eq(stat(path, &after), 0);
	c1 = slurp(path, &n1);
	ck_assert(n0 == n1 && memcmp(c0, c1, n0) == 0);
	ck_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
	    before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
	snprintf(side, sizeof side, "%s-wal", path);
	ck_assert(!exists(side));
	snprintf(side, sizeof side, "%s-journal", path);
	ck_assert(!exists(side));
	free(c0);
	free(c1);
}

START_TEST(test_refuse_text_file)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "notes.txt");
	FILE *f = fopen(path, "w");

	fputs("these are my notes, not a database\n", f);
	fclose(f);
	assert_refused_untouched(path, 0, "is not an h4h database (not an "
	    "SQLite file)");
	path = tmp_make(&t, "short");
	f = fopen(path, "w");
	fputs("SQLite", f);
	fclose(f);
	assert_refused_untouched(path, 0, "not an SQLite file");
	/* The right header on garbage. */
	path = tmp_make(&t, "garbage.db");
	f = fopen(path, "w");
	fwrite("SQLite format 3", 1, 16, f);
	for (int i = 0; i < 4096; i++)
		fputc(i * 7 & 0xff, f);
	fclose(f);
	assert_refused_untouched(path, 0, "is not an h4h database");
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_refuse_newer_schema)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "future.db");
	char sql[128];

	snprintf(sql, sizeof sql, "PRAGMA application_id = %d; "
	    "PRAGMA user_version = 99; CREATE TABLE future(a);",
	    H4H_DB_APPLICATION_ID);
	sqlite_make(path, sql);
	{
		char want[128];

		snprintf(want, sizeof want, "has schema version 99, newer than "
		    "this h4h supports (%d); upgrade h4h", H4H_DB_SCHEMA_VERSION);
		assert_refused_untouched(path, 0, want);
	}
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_refuse_other_program)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "other.db");

	sqlite_make(path, "CREATE TABLE contacts(name TEXT, phone TEXT); "
	    "INSERT INTO contacts VALUES ('a', '1');");
	assert_refused_untouched(path, 0, "is an SQLite database of another "
	    "program");
	path = tmp_make(&t, "other-id.db");
	sqlite_make(path, "PRAGMA application_id = 1234;");
	assert_refused_untouched(path, 0, "another program");
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_refuse_missing)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "missing.db");

	assert_refused(path, 0, "cannot open database");
	assert_refused(path, 0, "no such file");
	assert_refused(path, H4H_DB_READONLY, "no such file");
	ck_assert(!exists(path));
	path = tmp_make(&t, "no/such/dir.db");
	assert_refused(path, H4H_DB_CREATE, "cannot open database");
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_readonly_writes_fail)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "ro.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	const char *params[1] = { "p" };
	sim_net *net = mk_net("n", 0), *net2 = mk_net("n", 3);
	sim_layer l = mk_layer(0);
	sim_cand split = mk_split(4, 0, 0), split2 = mk_split(5, 0, 0);
	sim_layer_result r, got;
	h4h_err err = { "" };
	sim_profile p, q;
	sim_result nr;
	sim_cache c;
	int64_t sys, nid, id;
	int created, point;
	char *c0, *c1;
	size_t n0, n1;

	sim_profile_defaults(&p);
	sys = system_ok(db, &p);
	nid = network_ok(db, net);
	c = cache_ok(db, sys);
	mk_result(1, &split, &r);
	c.put_cost(c.ctx, &l, &split, &r);
	flush_ok(db);
	h4h_db_close(db);
	c0 = slurp(path, &n0);

	db = db_open_ok(path, H4H_DB_READONLY);
	/* Reads work: known ids, stored costs. */
	ck_assert_int_eq(system_ok(db, &p), sys);
	ck_assert_int_eq(network_ok(db, net), nid);
	c = cache_ok(db, sys);
	ck_assert_int_eq(get_cost(&c, &l, &split, &got), 1);
	/* Writes fail cleanly. */
	q = p;
	q.npu.macs = 64;
	ck_assert_int_eq(h4h_db_system(db, &q, &id, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "read-only") != NULL, "%s", err.msg);
	ck_assert_int_eq(h4h_db_network(db, net2, "net", NULL, &id, &err),
	    H4H_EINPUT);
	mk_result(2, &split2, &r);
	c.put_cost(c.ctx, &l, &split2, &r);
	ck_assert_int_eq(h4h_db_flush(db, &err), H4H_EIO);
	ck_assert_msg(strstr(err.msg, "read-only") != NULL, "%s", err.msg);
	ck_assert_int_eq(h4h_db_flush(db, &err), 0);	/* nothing pending */
	mk_net_result(1, SIM_OBJ_LATENCY, &nr);
	ck_assert_int_eq(h4h_db_net_cost_put(db, sys, nid, &nr, &err),
	    H4H_EIO);
	ck_assert_int_eq(h4h_db_sweep_begin(db, "s", 1, params, &id, &created,
	    &err), H4H_EIO);
	ck_assert_int_eq(h4h_db_run_claim(db, 1, &point, &err), H4H_EINPUT);
	ck_assert_int_eq(h4h_db_select(db, "DELETE FROM layers", rows_row,
	    NULL, &err), H4H_EINPUT);
	h4h_db_close(db);
	c1 = slurp(path, &n1);
	ck_assert(n0 == n1 && memcmp(c0, c1, n0) == 0);
	free(c0);
	free(c1);
	sim_net_destroy(net);
	sim_net_destroy(net2);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_cache_unknown_system)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "nosys.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	h4h_err err = { "" };
	sim_profile p;
	sim_cache c;

	sim_profile_defaults(&p);
	ck_assert_int_eq(h4h_db_cache(db, 42, &p, &c, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "no system with id 42") != NULL, "%s",
	    err.msg);
	h4h_db_close(db);
	tu_tmpdir_remove(&t);
}
END_TEST

/* The search's accuracy cache: rows come back per (supernet, split,
 * settings), a put replaces a row of the same key, other keys are not
 * seen, and the table survives a reopen. */
typedef struct acc_seen {
	int n;
	double sum;
} acc_seen;

static int
acc_row(void *vctx, const char *gene, double acc)
{
	acc_seen *a = vctx;

	ck_assert_ptr_nonnull(gene);
	a->n++;
	a->sum += acc;
	return 0;
}

START_TEST(test_accuracy_cache)
{
	tu_tmpdir t = TU_TMPDIR_INIT;
	const char *path = tmp_make(&t, "acc.db");
	h4h_db *db = db_open_ok(path, H4H_DB_CREATE);
	h4h_err err = { "" };
	h4h_db_acc_row rows[3] = { { "g1", 0.5, 1 }, { "g2", 0.25, 1 },
	    { "g1", 0.75, 1 } };
	acc_seen a = { 0, 0 };

	ck_assert_int_eq(h4h_db_acc_put(db, "ck", "val", "s", 3, rows, &err),
	    0);
	ck_assert_int_eq(h4h_db_acc_put(db, "ck", "test", "s", 1, rows, &err),
	    0);
	ck_assert_int_eq(h4h_db_acc_put(db, "other", "val", "s", 1, rows,
	    &err), 0);
	h4h_db_close(db);
	db = db_open_ok(path, H4H_DB_READONLY);
	ck_assert_int_eq(h4h_db_acc_load(db, "ck", "val", "s", acc_row, &a,
	    &err), 0);
	ck_assert_int_eq(a.n, 2);
	ck_assert(a.sum == 1.0);	/* g1 replaced by 0.75, plus g2 */
	a.n = 0;
	ck_assert_int_eq(h4h_db_acc_load(db, "ck", "val", "t", acc_row, &a,
	    &err), 0);
	ck_assert_int_eq(a.n, 0);
	ck_assert_int_eq(h4h_db_acc_put(db, "ck", "val", "s", 1, rows, &err),
	    H4H_EIO);
	h4h_db_close(db);
	/* Text in the REAL column (SQLite would read it as 0.0, a NaN is
	 * stored as NULL and refused by NOT NULL) is a miss, counted once. */
	{
		sqlite3 *s;
		const char *first = NULL;

		ck_assert_int_eq(sqlite3_open(path, &s), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(s, "UPDATE subnet_accuracy SET "
		    "accuracy = 'nan' WHERE gene = 'g2'", NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(s);
		db = db_open_ok(path, H4H_DB_READONLY);
		a.n = 0;
		a.sum = 0;
		ck_assert_int_eq(h4h_db_acc_load(db, "ck", "val", "s", acc_row,
		    &a, &err), 0);
		ck_assert_int_eq(a.n, 1);
		ck_assert(a.sum == 0.75);
		ck_assert_int_eq(h4h_db_bad_rows(db, &first), 1);
		ck_assert_ptr_nonnull(strstr(first, "accuracy is text"));
		h4h_db_close(db);
	}
	tu_tmpdir_remove(&t);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("Core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_open_create);
	tcase_add_test(tc, test_second_handle_keeps_locks);
	tcase_add_test(tc, test_migrate_v1_train_logs);
	tcase_add_test(tc, test_system_identity);
	tcase_add_test(tc, test_layer_cost_roundtrip);
	tcase_add_test(tc, test_layer_cost_zero_and_nan);
	tcase_add_test(tc, test_cands_roundtrip);
	tcase_add_test(tc, test_net_cost_roundtrip);
	tcase_add_test(tc, test_sweep_resume);
	tcase_add_test(tc, test_export);
	tcase_add_test(tc, test_select);
	tcase_add_test(tc, test_migrate_keeps_old_costs_unused);
	tcase_add_test(tc, test_migrate_v4_fixture);
	tcase_add_test(tc, test_migrate_v5_fixture);
	tcase_add_test(tc, test_failed_batch_kept);
	tcase_add_test(tc, test_accuracy_cache);
	suite_add_tcase(s, tc);
	tc = tcase_create("Limits");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_concurrent_writers);
	tcase_add_test(tc, test_sigkill_while_writing);
	tcase_add_test(tc, test_claim_dead_pid);
	suite_add_tcase(s, tc);
	tc = tcase_create("Errors");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_refuse_text_file);
	tcase_add_test(tc, test_refuse_newer_schema);
	tcase_add_test(tc, test_refuse_other_program);
	tcase_add_test(tc, test_refuse_missing);
	tcase_add_test(tc, test_readonly_writes_fail);
	tcase_add_test(tc, test_cache_unknown_system);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(db_suite());
	int failed;

	srand((unsigned)time(NULL));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
