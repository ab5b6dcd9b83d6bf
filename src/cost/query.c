/*
 * query.c - reading the cost database for people: read-only SQL (an
 * authorizer refuses every write), `h4h db summary` and `h4h db export`
 * (CSV or JSON of a sweep, a network's costs or a table).
 *
 * Invariant: nothing here writes; the authorizer makes sure of it even for
 * SQL the user typed.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "cost/dbInt.h"

#include "core/text.h"
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

/* A column as text: doubles exactly, blobs in hex.  buf holds 32 bytes or
 * more; a blob's hex goes to *heap (the caller frees it). */
static const char *
column_text(sqlite3_stmt *st, int i, char *buf, size_t n, char **heap)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_FLOAT:
		h4h_fmt_double_real(buf, n, sqlite3_column_double(st, i));
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

/* A stored text as a terminal may show it: control characters and bytes
 * that are not well-formed UTF-8 as \xNN (h4h_escape), so that a name in a
 * database someone else wrote cannot move the cursor, end a line or
 * garble the output.  The caller frees it. */
static char *
shown_text(const char *t)
{
	size_t n = 4 * strlen(t) + 1;
	char *out = h4h_xmalloc(n);

	h4h_escape(out, n, t);
	return out;
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
			char *e = t != NULL ? shown_text(t) : NULL;

			if (e != NULL && (int)strlen(e) > w[i])
				w[i] = (int)strlen(e);
			free(e);
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
			char *e = t != NULL ? shown_text(t) : NULL;

			fprintf(f, fmt[i] == 'i' ? " %*s" : " %-*s", w[i],
			    e ? e : "-");
			free(e);
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
	for (size_t i = 0; i < db_n_tables; i++) {
		if (count_rows(db, db_table_names[i], &n) != 0)
			return db_read_err(db, err);
		fprintf(f, " %s %lld%s", db_table_names[i], n,
		    i + 1 < db_n_tables ? "," : "\n");
	}
	fprintf(f, "model revisions (this build: %d; costs of other revisions "
	    "are kept, never reused):\n", SIM_MODEL_REVISION);
	if (print_rows(db, f, "SELECT s.model_revision, count(*), (SELECT "
	    "count(*) FROM layer_costs c JOIN systems t ON t.id = c.system_id "
	    "WHERE t.model_revision = s.model_revision) FROM systems s GROUP "
	    "BY s.model_revision ORDER BY s.model_revision", "iii",
	    "revision systems layer_costs") != 0)
		return db_read_err(db, err);
	fputs("systems:\n", f);
	if (print_rows(db, f, "SELECT s.id, s.name, s.hash, (SELECT count(*) "
	    "FROM layer_costs c WHERE c.system_id = s.id), s.model_revision "
	    "FROM systems s ORDER BY s.id", "issii",
	    "id name hash layer_costs revision") != 0)
		return db_read_err(db, err);
	fputs("networks:\n", f);
	if (print_rows(db, f, "SELECT id, name, n_layers, macs FROM networks "
	    "ORDER BY id", "isii", "id name layers macs") != 0)
		return db_read_err(db, err);
	fputs("sweeps:\n", f);
	if (print_rows(db, f, "SELECT w.id, (SELECT count(*) FROM runs r "
	    "WHERE r.sweep_id = w.id AND r.status = 'done') || '/' || "
	    "w.n_points, w.status FROM sweeps w ORDER BY w.id", "iss",
	    "id done/total status") != 0)
		return db_read_err(db, err);
	if (ferror(f))
		return h4h_errf(err, H4H_EIO, "cannot write the summary: %s",
		    strerror(errno));
	return 0;
}

/* s as a JSON string.  A stored text is whatever bytes a tool put there:
 * a byte that is not part of well-formed UTF-8 becomes U+FFFD, so that
 * the output is valid JSON (RFC 8259 requires UTF-8). */
static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int len = h4h_utf8_len((const unsigned char *)s);

		if (len == 0) {
			fputs("\\ufffd", f);
		} else if (len > 1) {
			fwrite(s, 1, (size_t)len, f);
			s += len - 1;
		} else if (c == '"' || c == '\\')
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
			h4h_csv_field(f, sqlite3_column_name(st, i));
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
				h4h_csv_field(f, t);
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
		return db_read_err(db, err);
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
		return db_read_err(db, err);
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

			snprintf(base, sizeof base, "%.*s",
			    (int)(end - line - 5),
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
			if (strspn(key,
			    "abcdefghijklmnopqrstuvwxyz0123456789_.")
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
		if (!in_list(arg, db_table_names, db_n_tables)) {
			char names[400];
			size_t k = 0;

			for (size_t i = 0; i < db_n_tables &&
			    k < sizeof names; i++)
				k += (size_t)snprintf(names + k,
				    sizeof names - k,
				    "%s%s", i ? ", " : "", db_table_names[i]);
			return h4h_errf(err, H4H_EINPUT, "unknown table '%s' "
			    "in '%s' (one of %s)", arg, what, names);
		}
		/* Labels as the text they deflate (zblob.h). */
		if (strcmp(arg, "networks") == 0)
			snprintf(sql, sizeof sql, "SELECT id, hash, body, name, "
			    "source, h4h_inflate(arch) AS arch, n_layers, macs "
			    "FROM networks");
		else
			snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"",
			    arg);
	} else if (strncmp(what, "sweep:", 6) == 0) {
		if (parse_id(arg, &id) != 0)
			goto bad;
		if ((rc = db_sweep_points(db, id, &n, err)) != 0)
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
		if ((rc = db_id_check(db, ID_NETWORK, id, err)) != 0)
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
		return db_read_err(db, err);
	if (id > 0)
		sqlite3_bind_int64(st, 1, id);
	rc = export_rows(db, st, json, f, err);
	sqlite3_finalize(st);
	return rc;
bad:
	return h4h_errf(err, H4H_EINPUT, "unknown export selector '%s' "
	    "(sweep:ID, network:ID or table:NAME)", what ? what : "");
}

