/*
 * merge.c - merging cost databases (merge.h).
 *
 * One table of descriptors says, per table, its integer id column (if rows
 * are referred to by id), its identity columns and its labels; every other
 * column is a value that must agree.  Which columns refer to which table
 * is read from the schema itself (PRAGMA foreign_key_list), so a column
 * added by a later schema version is merged without a change here; a
 * table added without a descriptor is refused, never skipped.  The one
 * reference the schema cannot declare, the layer ids inside a network's
 * body (netbody.h), is remapped by remap_body.
 *
 * The source is always an SQLite image attached as schema "src" (a file is
 * serialized first), so files and MPI ranks take one path.  Ids are mapped
 * in a temporary table, merge_map (table, source id, destination id).
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "cost/merge.h"
#include "cost/dbInt.h"

#include <stdio.h>

typedef struct merge_desc {
	const char *table;
	const char *id;		/* INTEGER PRIMARY KEY others refer to */
	const char *identity;	/* space-separated */
	const char *labels;	/* first writer wins */
	const char *progress;	/* a status column: 'done' wins */
	int leaf;		/* no other row refers to it (image_take) */
} merge_desc;

/* Parents before the tables that refer to them. */
static const merge_desc descs[] = {
	{ "systems", "id", "canon", "name created_at", NULL, 0 },
	{ "layers", "id", "key", NULL, NULL, 0 },
	{ "networks", "id", "hash body", "name source arch", NULL, 0 },
	{ "layer_candidates", NULL, "system_id layer_id", NULL, NULL, 1 },
	{ "layer_costs", NULL, "system_id layer_id npu_channels cim_channels "
	    "macros", NULL, NULL, 1 },
	{ "network_costs", NULL, "system_id network_id objective",
	    "created_at", NULL, 1 },
	{ "sweeps", "id", "args", "status started_at ended_at", NULL, 0 },
	{ "runs", NULL, "sweep_id point", "pid started_at ended_at error",
	    "status", 0 },
	{ "train_runs", "id", "space recipe seed settings", "created_at",
	    NULL, 0 },
	{ "train_epochs", NULL, "run_id phase epoch",
	    "seconds img_per_s logged_at", NULL, 0 },
	{ "subnet_accuracy", NULL, "supernet split settings gene",
	    "seconds evaluated_at", NULL, 1 },
};
#define N_DESCS (sizeof descs / sizeof descs[0])

/* After the rows: a sweep whose every point is now done is done. */
static const char merge_post[] =
	"UPDATE main.sweeps SET status = 'done', ended_at = coalesce(ended_at,"
	" " NOW ") WHERE status != 'done' AND n_points = (SELECT count(*) FROM"
	" main.runs r WHERE r.sweep_id = sweeps.id AND r.status = 'done')";

#define MAX_COLS 64

enum { COL_VALUE, COL_ID, COL_IDENTITY, COL_LABEL, COL_PROGRESS };

typedef struct table_plan {
	const merge_desc *d;
	int ncol;
	char *name[MAX_COLS];
	int kind[MAX_COLS];
	int ref[MAX_COLS];	/* index into descs of the table referred to,
				 * or -1 */
	int body;		/* the networks.body column, or -1 */
} table_plan;

typedef struct merger {
	sqlite3 *s;
	const char *label;	/* the source, in messages */
	h4h_merge_stats *stats;
	h4h_err *err;
	sqlite3_stmt *map_get, *map_put;
} merger;

static int
has_word(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; p != NULL && *p != '\0';) {
		while (*p == ' ')
			p++;
		if (strncmp(p, w, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p = strchr(p, ' ');
	}
	return 0;
}

static int
desc_index(const char *table)
{
	for (size_t i = 0; i < N_DESCS; i++)
		if (strcmp(descs[i].table, table) == 0)
			return (int)i;
	return -1;
}

static int
sql_err(merger *m, const char *what)
{
	int prim = sqlite3_extended_errcode(m->s) & 0xff;

	return h4h_errf(m->err, prim == SQLITE_FULL || prim == SQLITE_IOERR ||
	    prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN ? H4H_EIO :
	    H4H_EINPUT, "merge %s: %s: %s", m->label, what, db_reason(m->s));
}

static void
plan_free(table_plan *p)
{
	for (int i = 0; i < p->ncol; i++)
		free(p->name[i]);
	p->ncol = 0;
}

/* The columns of one table, classified; the source must have the same. */
static int
plan_table(merger *m, const merge_desc *d, table_plan *p)
{
	char sql[256];
	sqlite3_stmt *st;
	int rc, n_src = 0, n_ident = 0;

	memset(p, 0, sizeof *p);
	p->d = d;
	p->body = -1;
	snprintf(sql, sizeof sql, "PRAGMA main.table_info(%s)", d->table);
	if (sqlite3_prepare_v2(m->s, sql, -1, &st, NULL) != SQLITE_OK)
		return sql_err(m, d->table);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && p->ncol < MAX_COLS) {
		const char *c = (const char *)sqlite3_column_text(st, 1);
		int i = p->ncol++;

		p->name[i] = h4h_xstrdup(c);
		p->ref[i] = -1;
		p->kind[i] = d->id != NULL && strcmp(c, d->id) == 0 ? COL_ID :
		    has_word(d->identity, c) ? COL_IDENTITY :
		    d->progress != NULL && strcmp(c, d->progress) == 0 ?
		    COL_PROGRESS : has_word(d->labels, c) ? COL_LABEL :
		    COL_VALUE;
		n_ident += p->kind[i] == COL_IDENTITY;
		if (strcmp(d->table, "networks") == 0 &&
		    strcmp(c, "body") == 0)
			p->body = i;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || p->ncol == 0 || n_ident == 0)
		return h4h_errf(m->err, H4H_EINPUT, "merge: the destination "
		    "has no table '%s' with its identity columns", d->table);
	/* References, from the schema. */
	snprintf(sql, sizeof sql, "PRAGMA main.foreign_key_list(%s)",
	    d->table);
	if (sqlite3_prepare_v2(m->s, sql, -1, &st, NULL) != SQLITE_OK)
		return sql_err(m, d->table);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *to = (const char *)sqlite3_column_text(st, 2);
		const char *from = (const char *)sqlite3_column_text(st, 3);
		int t = desc_index(to);

		for (int i = 0; i < p->ncol; i++)
			if (strcmp(p->name[i], from) == 0)
				p->ref[i] = t;
		if (t < 0 || descs[t].id == NULL) {
			sqlite3_finalize(st);
			return h4h_errf(m->err, H4H_EINPUT, "merge: %s.%s "
			    "refers to '%s', which has no id to remap",
			    d->table, from, to);
		}
	}
	sqlite3_finalize(st);
	/* The source's columns, in the same order. */
	snprintf(sql, sizeof sql, "PRAGMA src.table_info(%s)", d->table);
	if (sqlite3_prepare_v2(m->s, sql, -1, &st, NULL) != SQLITE_OK)
		return sql_err(m, d->table);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(st, 1);

		if (n_src >= p->ncol || strcmp(c, p->name[n_src]) != 0)
			break;
		n_src++;
	}
	sqlite3_finalize(st);
	if (n_src != p->ncol)
		return h4h_errf(m->err, H4H_EINPUT, "merge %s: table '%s' has "
		    "other columns than the destination's (another schema "
		    "version?)", m->label, d->table);
	return 0;
}

/* ---- id maps ------------------------------------------------------------- */

static int
map_get(merger *m, int table, int64_t src, int64_t *dst)
{
	int rc;

	sqlite3_bind_int(m->map_get, 1, table);
	sqlite3_bind_int64(m->map_get, 2, src);
	rc = sqlite3_step(m->map_get);
	if (rc == SQLITE_ROW)
		*dst = sqlite3_column_int64(m->map_get, 0);
	sqlite3_reset(m->map_get);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
map_put(merger *m, int table, int64_t src, int64_t dst)
{
	int rc;

	sqlite3_bind_int(m->map_put, 1, table);
	sqlite3_bind_int64(m->map_put, 2, src);
	sqlite3_bind_int64(m->map_put, 3, dst);
	rc = sqlite3_step(m->map_put);
	sqlite3_reset(m->map_put);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- one row's cells ----------------------------------------------------- */

/* A source value as it goes into the destination: as read, an id mapped
 * through merge_map, or a rewritten body. */
typedef struct cell {
	sqlite3_value *v;
	int mapped;
	int64_t id;
	db_body body;
	int has_body;
} cell;

static void
bind_cell(sqlite3_stmt *st, int k, const cell *c)
{
	if (c->mapped)
		sqlite3_bind_int64(st, k, c->id);
	else if (c->has_body)
		sqlite3_bind_blob(st, k, c->body.p, (int)c->body.n,
		    SQLITE_STATIC);
	else
		sqlite3_bind_value(st, k, c->v);
}

/* Whether column k of a destination row holds the cell's value, exactly
 * (a REAL compares bit for bit, as it was stored). */
static int
cell_equal(const cell *c, sqlite3_stmt *dst, int k)
{
	int t = sqlite3_column_type(dst, k);

	if (c->mapped)
		return t == SQLITE_INTEGER &&
		    sqlite3_column_int64(dst, k) == c->id;
	if (c->has_body)
		return t == SQLITE_BLOB &&
		    (size_t)sqlite3_column_bytes(dst, k) == c->body.n &&
		    memcmp(sqlite3_column_blob(dst, k), c->body.p,
		    c->body.n) == 0;
	if (t != sqlite3_value_type(c->v))
		return 0;
	switch (t) {
	case SQLITE_NULL:
		return 1;
	case SQLITE_INTEGER:
		return sqlite3_column_int64(dst, k) ==
		    sqlite3_value_int64(c->v);
	case SQLITE_FLOAT: {
		double a = sqlite3_column_double(dst, k);
		double b = sqlite3_value_double(c->v);

		return memcmp(&a, &b, sizeof a) == 0;
	}
	default: {
		int n = sqlite3_value_bytes(c->v);
		const void *p = t == SQLITE_TEXT ?
		    (const void *)sqlite3_value_text(c->v) :
		    sqlite3_value_blob(c->v);
		const void *q = t == SQLITE_TEXT ?
		    (const void *)sqlite3_column_text(dst, k) :
		    sqlite3_column_blob(dst, k);

		return sqlite3_column_bytes(dst, k) == n &&
		    (n == 0 || memcmp(p, q, (size_t)n) == 0);
	}
	}
}

typedef struct remap_ctx {
	merger *m;
	int layers;
	db_body *out;
} remap_ctx;

static int
remap_layer(void *ctx, int i, int64_t id, int n_inputs, const int *inputs)
{
	remap_ctx *r = ctx;
	int64_t to;

	if (map_get(r->m, r->layers, id, &to) != 1)
		return 1;
	db_body_layer(r->out, i, to, n_inputs, inputs);
	return 0;
}

/* A network body with each layer id mapped into the destination's. */
static int
remap_body(merger *m, int layers, const unsigned char *p, size_t n,
    db_body *out)
{
	remap_ctx r = { m, layers, out };
	int h, w, c, nl;

	if (db_body_walk(p, n, DB_BODY_VERSION, &h, &w, &c, &nl, NULL,
	    NULL) != 0)
		return 1;
	db_body_start(out, DB_BODY_VERSION, h, w, c, nl);
	return db_body_walk(p, n, DB_BODY_VERSION, &h, &w, &c, &nl,
	    remap_layer, &r) != 0;
}

/* "col=value, ..." of a row's identity, for messages. */
static void
key_text(const table_plan *p, const cell *c, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < p->ncol && n < size; i++) {
		char v[96];

		if (p->kind[i] != COL_IDENTITY)
			continue;
		if (c[i].mapped)
			snprintf(v, sizeof v, "%lld", (long long)c[i].id);
		else if (c[i].has_body ||
		    sqlite3_value_type(c[i].v) == SQLITE_BLOB)
			snprintf(v, sizeof v, "<blob>");
		else
			snprintf(v, sizeof v, "%.80s",
			    (const char *)sqlite3_value_text(c[i].v));
		n += (size_t)snprintf(buf + n, size - n, "%s%s=%s",
		    n ? ", " : "", p->name[i], v);
	}
}

static void
value_text(sqlite3_value *v, char *buf, size_t size)
{
	if (sqlite3_value_type(v) == SQLITE_BLOB)
		snprintf(buf, size, "<blob of %d bytes>",
		    sqlite3_value_bytes(v));
	else if (sqlite3_value_type(v) == SQLITE_NULL)
		snprintf(buf, size, "NULL");
	else
		snprintf(buf, size, "%.60s",
		    (const char *)sqlite3_value_text(v));
}

/* ---- one table ----------------------------------------------------------- */

typedef struct table_st {
	sqlite3_stmt *rows, *find, *insert, *update;
} table_st;

static int
table_prepare(merger *m, const table_plan *p, table_st *t)
{
	char *buf = NULL, *sets = NULL;
	size_t len = 0, slen = 0;
	FILE *f;
	int k, rc = SQLITE_OK;

	memset(t, 0, sizeof *t);
	f = open_memstream(&buf, &len);
	fprintf(f, "SELECT ");
	for (int i = 0; i < p->ncol; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", p->name[i]);
	fprintf(f, " FROM src.\"%s\"", p->d->table);
	if (p->d->id != NULL)
		fprintf(f, " ORDER BY \"%s\"", p->d->id);
	fclose(f);
	rc = sqlite3_prepare_v2(m->s, buf, -1, &t->rows, NULL);
	free(buf);
	/* The destination's row of an identity (parameters 1..ncol, only
	 * the identity's bound). */
	f = open_memstream(&buf, &len);
	fprintf(f, "SELECT ");
	for (int i = 0; i < p->ncol; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", p->name[i]);
	fprintf(f, " FROM main.\"%s\" WHERE ", p->d->table);
	k = 0;
	for (int i = 0; i < p->ncol; i++)
		if (p->kind[i] == COL_IDENTITY)
			fprintf(f, "%s\"%s\" = ?%d", k++ ? " AND " : "",
			    p->name[i], i + 1);
	fclose(f);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(m->s, buf, -1, &t->find, NULL);
	free(buf);
	f = open_memstream(&buf, &len);
	fprintf(f, "INSERT INTO main.\"%s\" (", p->d->table);
	k = 0;
	for (int i = 0; i < p->ncol; i++)
		if (p->kind[i] != COL_ID)
			fprintf(f, "%s\"%s\"", k++ ? ", " : "", p->name[i]);
	fprintf(f, ") VALUES (");
	k = 0;
	for (int i = 0; i < p->ncol; i++)
		if (p->kind[i] != COL_ID)
			fprintf(f, "%s?%d", k++ ? ", " : "", i + 1);
	fprintf(f, ")");
	fclose(f);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(m->s, buf, -1, &t->insert, NULL);
	free(buf);
	if (p->d->progress != NULL) {
		FILE *g = open_memstream(&sets, &slen);

		f = open_memstream(&buf, &len);
		k = 0;
		for (int i = 0; i < p->ncol; i++) {
			if (p->kind[i] == COL_IDENTITY)
				fprintf(g, "%s\"%s\" = ?%d", k++ ? " AND " : "",
				    p->name[i], i + 1);
		}
		fclose(g);
		fprintf(f, "UPDATE main.\"%s\" SET ", p->d->table);
		k = 0;
		for (int i = 0; i < p->ncol; i++)
			if (p->kind[i] != COL_ID && p->kind[i] != COL_IDENTITY)
				fprintf(f, "%s\"%s\" = ?%d", k++ ? ", " : "",
				    p->name[i], i + 1);
		fprintf(f, " WHERE %s", sets);
		fclose(f);
		free(sets);
		if (rc == SQLITE_OK)
			rc = sqlite3_prepare_v2(m->s, buf, -1, &t->update,
			    NULL);
		free(buf);
	}
	return rc == SQLITE_OK ? 0 : sql_err(m, p->d->table);
}

static void
table_finalize(table_st *t)
{
	sqlite3_finalize(t->rows);
	sqlite3_finalize(t->find);
	sqlite3_finalize(t->insert);
	sqlite3_finalize(t->update);
	memset(t, 0, sizeof *t);
}

/* One source row: found (compared) or inserted (its id mapped). */
static int
merge_row(merger *m, const table_plan *p, table_st *t, int self)
{
	cell c[MAX_COLS];
	int rc = 0, id_col = -1, step;
	char key[512];

	memset(c, 0, sizeof c);
	for (int i = 0; i < p->ncol; i++) {
		c[i].v = sqlite3_column_value(t->rows, i);
		if (p->kind[i] == COL_ID)
			id_col = i;
		if (p->ref[i] >= 0 && sqlite3_value_type(c[i].v) !=
		    SQLITE_NULL) {
			c[i].mapped = 1;
			if (map_get(m, p->ref[i], sqlite3_value_int64(c[i].v),
			    &c[i].id) != 1) {
				rc = h4h_errf(m->err, H4H_EINPUT, "merge %s: "
				    "%s.%s = %lld refers to a row the file "
				    "lacks", m->label, p->d->table, p->name[i],
				    (long long)sqlite3_value_int64(c[i].v));
				goto out;
			}
		}
		if (i == p->body) {
			if (sqlite3_value_type(c[i].v) != SQLITE_BLOB ||
			    remap_body(m, desc_index("layers"),
			    sqlite3_value_blob(c[i].v),
			    (size_t)sqlite3_value_bytes(c[i].v),
			    &c[i].body) != 0) {
				rc = h4h_errf(m->err, H4H_EINPUT, "merge %s: "
				    "networks.id = %lld: a body that cannot "
				    "be read", m->label,
				    (long long)sqlite3_column_int64(t->rows,
				    id_col >= 0 ? id_col : 0));
				goto out;
			}
			c[i].has_body = 1;
		}
	}
	for (int i = 0; i < p->ncol; i++)
		if (p->kind[i] == COL_IDENTITY)
			bind_cell(t->find, i + 1, &c[i]);
	step = sqlite3_step(t->find);
	if (step == SQLITE_ROW) {
		int progress = 0;

		/* A run that is done here and not there replaces it; one
		 * that is done there stays. */
		for (int i = 0; i < p->ncol; i++)
			if (p->kind[i] == COL_PROGRESS &&
			    !cell_equal(&c[i], t->find, i)) {
				const char *s = (const char *)
				    sqlite3_value_text(c[i].v);

				progress = s != NULL && strcmp(s, "done") == 0 ?
				    1 : -1;
			}
		for (int i = 0; progress == 0 && i < p->ncol; i++) {
			char here[80], there[80];
			sqlite3_value *dv;

			if (p->kind[i] != COL_VALUE || cell_equal(&c[i],
			    t->find, i))
				continue;
			key_text(p, c, key, sizeof key);
			dv = sqlite3_column_value(t->find, i);
			if (c[i].mapped)
				snprintf(here, sizeof here, "%lld",
				    (long long)c[i].id);
			else
				value_text(c[i].v, here, sizeof here);
			value_text(dv, there, sizeof there);
			rc = h4h_errf(m->err, H4H_EINPUT, "merge %s: %s (%s): "
			    "%s is %s there and %s in the destination",
			    m->label, p->d->table, key, p->name[i], here,
			    there);
			goto out;
		}
		if (id_col >= 0 && map_put(m, self,
		    sqlite3_value_int64(c[id_col].v),
		    sqlite3_column_int64(t->find, id_col)) != 0) {
			rc = sql_err(m, p->d->table);
			goto out;
		}
		sqlite3_reset(t->find);
		if (progress > 0) {
			for (int i = 0; i < p->ncol; i++)
				if (p->kind[i] != COL_ID)
					bind_cell(t->update, i + 1, &c[i]);
			step = sqlite3_step(t->update);
			sqlite3_reset(t->update);
			if (step != SQLITE_DONE) {
				rc = sql_err(m, p->d->table);
				goto out;
			}
			m->stats->advanced++;
		} else {
			m->stats->same++;
		}
		goto out;
	}
	sqlite3_reset(t->find);
	if (step != SQLITE_DONE) {
		rc = sql_err(m, p->d->table);
		goto out;
	}
	for (int i = 0; i < p->ncol; i++)
		if (p->kind[i] != COL_ID)
			bind_cell(t->insert, i + 1, &c[i]);
	step = sqlite3_step(t->insert);
	sqlite3_reset(t->insert);
	if (step != SQLITE_DONE) {
		key_text(p, c, key, sizeof key);
		rc = h4h_errf(m->err, sqlite3_extended_errcode(m->s) ==
		    SQLITE_CONSTRAINT_UNIQUE ? H4H_EINPUT : H4H_EIO,
		    "merge %s: %s (%s): %s", m->label, p->d->table, key,
		    db_reason(m->s));
		goto out;
	}
	if (id_col >= 0 && map_put(m, self, sqlite3_value_int64(c[id_col].v),
	    sqlite3_last_insert_rowid(m->s)) != 0)
		rc = sql_err(m, p->d->table);
	m->stats->added++;
out:
	for (int i = 0; i < p->ncol; i++)
		if (c[i].has_body)
			db_body_free(&c[i].body);
	return rc;
}

static int
merge_table(merger *m, int di)
{
	table_plan p;
	table_st t;
	int rc, step;

	if ((rc = plan_table(m, &descs[di], &p)) != 0) {
		plan_free(&p);
		return rc;
	}
	if ((rc = table_prepare(m, &p, &t)) == 0) {
		while ((step = sqlite3_step(t.rows)) == SQLITE_ROW &&
		    (rc = merge_row(m, &p, &t, di)) == 0)
			;
		if (rc == 0 && step != SQLITE_DONE)
			rc = sql_err(m, descs[di].table);
	}
	table_finalize(&t);
	plan_free(&p);
	return rc;
}

/* Every table of the destination and of the source has a descriptor: a
 * table added by a later schema without one (or by hand) is refused, never
 * left out of the result. */
static int
check_tables(merger *m)
{
	sqlite3_stmt *st;
	int rc = 0;

	for (int k = 0; rc == 0 && k < 2; k++) {
		if (sqlite3_prepare_v2(m->s, k == 0 ? "SELECT name FROM "
		    "main.sqlite_schema WHERE type = 'table' AND name NOT LIKE "
		    "'sqlite_%'" : "SELECT name FROM src.sqlite_schema WHERE "
		    "type = 'table' AND name NOT LIKE 'sqlite_%'", -1, &st,
		    NULL) != SQLITE_OK)
			return sql_err(m, "schema");
		while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(st,
			    0);

			if (desc_index(t) < 0)
				rc = h4h_errf(m->err, H4H_EINPUT, "merge %s: "
				    "table '%s' has no merge rule "
				    "(src/cost/merge.c)", k == 0 ?
				    "(destination)" : m->label, t);
		}
		sqlite3_finalize(st);
	}
	return rc;
}

/* The image, attached as "src", merged into db's main schema inside one
 * transaction; "src" is detached again whatever happens. */
static int
merge_attached(h4h_db *db, const void *buf, size_t n, const char *label,
    h4h_merge_stats *stats, h4h_err *err)
{
	merger m = { db->s, label, stats, err, NULL, NULL };
	unsigned char *img;
	int rc = 0, app = 0, version = 0;
	sqlite3_stmt *st;

	if (n < 100 || memcmp(buf, "SQLite format 3", 16) != 0)
		return h4h_errf(err, H4H_EINPUT, "merge %s: not an SQLite "
		    "image", label);
	if (sqlite3_exec(db->s, "ATTACH ':memory:' AS src", NULL, NULL,
	    NULL) != SQLITE_OK)
		return sql_err(&m, "attach");
	img = sqlite3_malloc64(n);
	if (img == NULL) {
		rc = h4h_errf(err, H4H_EIO, "merge %s: out of memory for an "
		    "image of %zu bytes", label, n);
		goto detach;
	}
	memcpy(img, buf, n);
	/* A WAL file's image says so in bytes 18 and 19; an image has no
	 * WAL, so it is read as a rollback-journal file.  Writable, though
	 * nothing writes it: BEGIN IMMEDIATE locks every attached schema for
	 * writing, and a read-only one fails it. */
	img[18] = img[19] = 1;
	if (sqlite3_deserialize(db->s, "src", img, (sqlite3_int64)n,
	    (sqlite3_int64)n, SQLITE_DESERIALIZE_FREEONCLOSE) != SQLITE_OK) {
		rc = sql_err(&m, "image");
		goto detach;
	}
	for (int k = 0; k < 2; k++) {
		if (sqlite3_prepare_v2(db->s, k == 0 ? "PRAGMA src.application_id"
		    : "PRAGMA src.user_version", -1, &st, NULL) != SQLITE_OK)
			continue;
		if (sqlite3_step(st) == SQLITE_ROW)
			*(k == 0 ? &app : &version) = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (app != H4H_DB_APPLICATION_ID || version != H4H_DB_SCHEMA_VERSION) {
		rc = h4h_errf(err, H4H_EINPUT, "merge %s: not an h4h database "
		    "of schema version %d (application id %#x, version %d)",
		    label, H4H_DB_SCHEMA_VERSION, (unsigned)app, version);
		goto detach;
	}
	if ((rc = check_tables(&m)) != 0 || (rc = db_tx_begin(db, err)) != 0)
		goto detach;
	if (sqlite3_exec(db->s, "CREATE TEMP TABLE IF NOT EXISTS merge_map "
	    "(tab INTEGER, src INTEGER, dst INTEGER, PRIMARY KEY (tab, src)) "
	    "WITHOUT ROWID; DELETE FROM temp.merge_map", NULL, NULL, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(db->s, "SELECT dst FROM temp.merge_map WHERE "
	    "tab = ?1 AND src = ?2", -1, &m.map_get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->s, "INSERT INTO temp.merge_map (tab, src, "
	    "dst) VALUES (?1, ?2, ?3)", -1, &m.map_put, NULL) != SQLITE_OK)
		rc = sql_err(&m, "id map");
	for (size_t i = 0; rc == 0 && i < N_DESCS; i++)
		rc = merge_table(&m, (int)i);
	if (rc == 0 && sqlite3_exec(db->s, merge_post, NULL, NULL, NULL) !=
	    SQLITE_OK)
		rc = sql_err(&m, "sweeps");
	sqlite3_finalize(m.map_get);
	sqlite3_finalize(m.map_put);
	rc = db_tx_end(db, rc, err);
detach:
	sqlite3_exec(db->s, "DETACH src", NULL, NULL, NULL);
	return rc;
}

int
h4h_db_merge_image(h4h_db *db, const void *buf, size_t n, const char *label,
    h4h_merge_stats *stats, h4h_err *err)
{
	h4h_merge_stats dummy;

	if (db->readonly)
		return db_readonly_err(db, err);
	memset(stats ? stats : &dummy, 0, sizeof dummy);
	return merge_attached(db, buf, n, label, stats ? stats : &dummy, err);
}

int
h4h_db_image_take(h4h_db *db, int clear, void **buf, size_t *n,
    h4h_err *err)
{
	sqlite3_int64 size = 0;
	unsigned char *img;
	int rc;

	*buf = NULL;
	*n = 0;
	if ((rc = h4h_db_flush(db, err)) != 0)
		return rc;
	img = sqlite3_serialize(db->s, "main", &size, 0);
	if (img == NULL)
		return db_read_err(db, err);
	*buf = h4h_xmalloc((size_t)size);
	memcpy(*buf, img, (size_t)size);
	*n = (size_t)size;
	sqlite3_free(img);
	if (!clear)
		return 0;
	if ((rc = db_tx_begin(db, err)) != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < N_DESCS; i++) {
		char sql[128];

		if (!descs[i].leaf)
			continue;
		snprintf(sql, sizeof sql, "DELETE FROM main.\"%s\"",
		    descs[i].table);
		if (sqlite3_exec(db->s, sql, NULL, NULL, NULL) != SQLITE_OK)
			rc = db_write_err(db, err);
	}
	return db_tx_end(db, rc, err);
}

/* ---- files --------------------------------------------------------------- */

/* A file's image, read through its own read-only handle (which checks
 * that it is an h4h database of this schema version). */
static int
file_image(const char *path, void **buf, size_t *n, h4h_err *err)
{
	h4h_db *in;
	sqlite3_int64 size = 0;
	unsigned char *img;
	int rc;

	if ((rc = h4h_db_open(path, H4H_DB_READONLY, &in, err)) != 0)
		return rc;
	img = sqlite3_serialize(in->s, "main", &size, 0);
	if (img == NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "cannot read '%s': %s", path,
		    db_reason(in->s));
	} else {
		*buf = h4h_xmalloc((size_t)size);
		memcpy(*buf, img, (size_t)size);
		*n = (size_t)size;
		sqlite3_free(img);
	}
	h4h_db_close(in);
	return rc;
}

/* The checks the result must pass before it replaces anything. */
static int
check_result(h4h_db *db, const char *path, h4h_err *err)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(db->s, "PRAGMA integrity_check", -1, &st,
	    NULL) == SQLITE_OK) {
		ok = sqlite3_step(st) == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(st, 0), "ok") ==
		    0 && sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	if (ok && sqlite3_prepare_v2(db->s, "PRAGMA foreign_key_check", -1,
	    &st, NULL) == SQLITE_OK) {
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	if (!ok)
		return h4h_errf(err, H4H_EIO, "merge: the result '%s' fails "
		    "PRAGMA integrity_check or foreign_key_check", path);
	return 0;
}

static int
fsync_path(const char *path, int flags)
{
	int fd = open(path, flags), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
h4h_db_merge_files(const char *out, const char *const *in, int n_in,
    h4h_merge_stats *stats, h4h_err *err)
{
	struct stat sb;
	size_t plen = strlen(out);
	char *tmp = h4h_xmalloc(plen + 16), *dir, *slash;
	h4h_db *db = NULL;
	h4h_merge_stats sum = { 0, 0, 0 };
	int fd, rc = 0, exists;

	exists = lstat(out, &sb) == 0;
	if (exists && !S_ISREG(sb.st_mode)) {
		free(tmp);
		return h4h_errf(err, H4H_EINPUT, "merge: '%s' is not a regular "
		    "file: refusing to replace it", out);
	}
	snprintf(tmp, plen + 16, "%s.tmpXXXXXX", out);
	if ((fd = mkstemp(tmp)) < 0) {
		rc = h4h_errf(err, H4H_EIO, "merge: cannot create a file "
		    "beside '%s': %s", out, strerror(errno));
		free(tmp);
		return rc;
	}
	close(fd);
	if (exists) {
		/* The destination's rows first: a compact copy, made through
		 * a handle that checks it is an h4h database (and upgrades
		 * an older one). */
		h4h_db *o;

		if ((rc = h4h_db_open(out, 0, &o, err)) == 0) {
			sqlite3_stmt *st;

			if (sqlite3_prepare_v2(o->s, "VACUUM INTO ?1", -1, &st,
			    NULL) != SQLITE_OK || (sqlite3_bind_text(st, 1,
			    tmp, -1, SQLITE_STATIC), sqlite3_step(st)) !=
			    SQLITE_DONE)
				rc = h4h_errf(err, H4H_EIO, "merge: cannot copy "
				    "'%s': %s", out, db_reason(o->s));
			sqlite3_finalize(st);
			h4h_db_close(o);
		}
	}
	if (rc == 0)
		rc = h4h_db_open(tmp, H4H_DB_CREATE, &db, err);
	for (int i = 0; rc == 0 && i < n_in; i++) {
		void *buf = NULL;
		size_t n = 0;
		h4h_merge_stats one = { 0, 0, 0 };

		if ((rc = file_image(in[i], &buf, &n, err)) == 0)
			rc = merge_attached(db, buf, n, in[i], &one, err);
		free(buf);
		sum.added += one.added;
		sum.same += one.same;
		sum.advanced += one.advanced;
	}
	if (rc == 0)
		rc = check_result(db, out, err);
	if (rc == 0 && sqlite3_exec(db->s, "PRAGMA wal_checkpoint(TRUNCATE)",
	    NULL, NULL, NULL) != SQLITE_OK)
		rc = db_write_err(db, err);
	h4h_db_close(db);
	/* A -wal beside the destination belongs to the file being replaced
	 * (another process has it open): renaming over it would let that
	 * log be replayed onto the new file. */
	if (rc == 0) {
		char *wal = h4h_xmalloc(plen + 8);

		snprintf(wal, plen + 8, "%s-wal", out);
		if (lstat(wal, &sb) == 0 && sb.st_size > 0)
			rc = h4h_errf(err, H4H_EIO, "merge: '%s' is open in "
			    "another process (it has a write-ahead log); "
			    "retry when it is not", out);
		free(wal);
	}
	if (rc == 0 && fsync_path(tmp, O_RDONLY) != 0)
		rc = h4h_errf(err, H4H_EIO, "merge: cannot sync '%s': %s", tmp,
		    strerror(errno));
	if (rc == 0 && rename(tmp, out) != 0)
		rc = h4h_errf(err, H4H_EIO, "merge: cannot rename '%s' to "
		    "'%s': %s", tmp, out, strerror(errno));
	if (rc == 0) {
		dir = h4h_xstrdup(out);
		slash = strrchr(dir, '/');
		if (slash != NULL)
			*(slash == dir ? slash + 1 : slash) = '\0';
		fsync_path(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY);
		free(dir);
	} else {
		char side[4096];

		unlink(tmp);
		snprintf(side, sizeof side, "%s-wal", tmp);
		unlink(side);
		snprintf(side, sizeof side, "%s-shm", tmp);
		unlink(side);
	}
	free(tmp);
	if (stats != NULL)
		*stats = sum;
	return rc;
}
