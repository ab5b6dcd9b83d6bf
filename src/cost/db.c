/*
 * db.c - the cost database's handle: opening a file (checked before SQLite
 * touches it, then migrated forward), its prepared statements, closing it,
 * and the helpers every part of the store shares: errors that stick to the
 * handle, statement steps, transactions (see db.h; dbInt.h holds the
 * handle's struct, doc/database.md the schema and its rules).
 *
 * Invariants:
 * - Every statement is prepared once, at open, and reset (bindings cleared)
 *   after each use, whatever the outcome.
 * - Writes happen only inside one BEGIN IMMEDIATE transaction per flush,
 *   sweep step or identity insert, so another process sees all of a batch
 *   or none of it; a failed batch is rolled back and stays pending, and the
 *   layer ids it handed out are forgotten (another process may reuse them).
 * - A file is checked (16-byte SQLite header, application_id, user_version)
 *   before anything is written to it: a refused file is never modified.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "cost/dbInt.h"
#include "cost/zblob.h"

/* ---- statements --------------------------------------------------------- */

/* Every statement the store uses, prepared once at open (dbInt.h names
 * them). */
static const char *const st_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SYS_INSERT] = "INSERT OR IGNORE INTO systems (hash, canon, name, "
	    "created_at, model_revision) VALUES (?1, ?2, ?3, " NOW ", ?4)",
	[ST_SYS_ID] = "SELECT id FROM systems WHERE canon = ?1",
	[ST_SYS_EXISTS] = "SELECT 1 FROM systems WHERE id = ?1",
	[ST_NET_INSERT] = "INSERT INTO networks (hash, body, name, source, "
	    "arch, n_layers, macs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_NET_ID] = "SELECT id, body FROM networks WHERE hash = ?1",
	[ST_NET_EXISTS] = "SELECT 1 FROM networks WHERE id = ?1",
	[ST_LAYER_INSERT] = "INSERT OR IGNORE INTO layers (hash, key, op, "
	    "macs, weight_bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_LAYER_ID] = "SELECT id FROM layers WHERE key = ?1",
	[ST_CANDS_GET] = "SELECT n, cands FROM layer_candidates "
	    "WHERE system_id = ?1 AND layer_id = ?2",
	[ST_CANDS_PUT] = "INSERT OR IGNORE INTO layer_candidates (system_id, "
	    "layer_id, n, cands) VALUES (?1, ?2, ?3, ?4)",
	/* Only over a row this handle found corrupt (cands_ent.repair). */
	[ST_CANDS_REPAIR] = "INSERT OR REPLACE INTO layer_candidates "
	    "(system_id, layer_id, n, cands) VALUES (?1, ?2, ?3, ?4)",
	[ST_COST_GET] = "SELECT " COST_COLS " FROM layer_costs "
	    "WHERE system_id = ?1 AND layer_id = ?2 AND npu_channels = ?3 "
	    "AND cim_channels = ?4 AND macros = ?5",
	/* The first writer's row stays, unless it cannot be right: then
	 * the new one repairs it (a cost is a count, time or energy, a
	 * finite number >= 0). */
	[ST_COST_PUT] = "INSERT INTO layer_costs (system_id, "
	    "layer_id, npu_channels, cim_channels, macros, " COST_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21) ON CONFLICT DO UPDATE "
	    "SET (" COST_COLS ") = (" COST_COLS_NEW ") WHERE NOT "
	    "h4h_numbers_ok(" COST_COLS ")",
	[ST_NCOST_GET] = "SELECT " NCOST_COLS " FROM network_costs "
	    "WHERE system_id = ?1 AND network_id = ?2 AND objective = ?3",
	[ST_NCOST_PUT] = "INSERT INTO network_costs (system_id, "
	    "network_id, objective, " NCOST_COLS ", created_at) VALUES (?1, "
	    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, " NOW ") "
	    "ON CONFLICT DO UPDATE SET (" NCOST_COLS ", created_at) = ("
	    NCOST_COLS_NEW ", excluded.created_at) WHERE NOT " NCOST_OK(""),
	[ST_SWEEP_FIND] = "SELECT id, n_points FROM sweeps WHERE args = ?1",
	[ST_SWEEP_INSERT] = "INSERT INTO sweeps (args, n_points, status, "
	    "started_at) VALUES (?1, ?2, 'running', " NOW ")",
	[ST_SWEEP_NPOINTS] = "SELECT n_points FROM sweeps WHERE id = ?1",
	[ST_RUN_INSERT] = "INSERT INTO runs (sweep_id, point, params, status) "
	    "VALUES (?1, ?2, ?3, 'pending')",
	[ST_RUN_RUNNING] = "SELECT point, pid, CAST(strftime('%s', "
	    "started_at) AS INTEGER) FROM runs "
	    "WHERE sweep_id = ?1 AND status = 'running'",
	[ST_RUN_RESET] = "UPDATE runs SET status = 'pending', pid = NULL, "
	    "started_at = NULL WHERE sweep_id = ?1 AND point = ?2 "
	    "AND status = 'running'",
	/* ?2, ?3: the share (sweep --shard K/N: point % N = K - 1). */
	[ST_RUN_NEXT] = "SELECT point FROM runs WHERE sweep_id = ?1 "
	    "AND status = 'pending' AND point % ?2 = ?3 ORDER BY point "
	    "LIMIT 1",
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

/* ---- errors ------------------------------------------------------------- */

/* Keeps the first error of a callback for the next flush. */
void
db_stick(h4h_db *db, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void
db_stick(h4h_db *db, int code, const char *fmt, ...)
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

void
db_bad_row(h4h_db *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A stored row that cannot be right: ignored (a cache miss), counted, the
 * first one kept for h4h_db_bad_rows.  The file is left as it is. */
void
db_bad_row(h4h_db *db, const char *fmt, ...)
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
const char *
db_reason(sqlite3 *s)
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

int
db_read_err(h4h_db *db, h4h_err *err)
{
	return h4h_errf(err, H4H_EIO, "cannot read '%s': %s", db->path,
	    db_reason(db->s));
}

/* A full disk or a read-only place loses nothing: the batch is rolled
 * back, what the file held stays, and the message says how to go on. */
int
db_write_err(h4h_db *db, h4h_err *err)
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
		    db->path, db_reason(db->s));
	}
}

int
db_readonly_err(h4h_db *db, h4h_err *err)
{
	return h4h_errf(err, H4H_EIO, READONLY_MSG, db->path);
}

/* ---- small helpers ------------------------------------------------------ */

/* Steps a statement that returns no row and resets it. */
int
db_run_st(h4h_db *db, int which)
{
	sqlite3_stmt *st = db->st[which];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = SQLITE_OK;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

void
db_done_st(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Looks an id up with a one-column statement bound to text ?1:
 * 1 found, 0 not, -1 an SQLite error. */
int
db_id_by_text(h4h_db *db, int which, const char *text, int64_t *id)
{
	sqlite3_stmt *st = db->st[which];
	int rc;

	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	db_done_st(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* h4h_numbers_ok(x, ...): 1 if every argument is a finite number >= 0
 * (what a stored cost must be), else 0. */
static void
sql_numbers_ok(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	int ok = 1;

	for (int i = 0; i < argc && ok; i++) {
		int t = sqlite3_value_type(argv[i]);
		double v = sqlite3_value_double(argv[i]);

		ok = (t == SQLITE_INTEGER || t == SQLITE_FLOAT) &&
		    isfinite(v) && v >= 0;
	}
	sqlite3_result_int(cx, ok);
}

int
db_funcs_register(sqlite3 *s)
{
	int rc = db_zfuncs_register(s);

	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(s, "h4h_numbers_ok", -1,
		    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_numbers_ok,
		    NULL, NULL);
	return rc;
}

const char *
db_column_not_number(sqlite3_stmt *st, int col)
{
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
		return NULL;
	case SQLITE_NULL:
		return "NULL";
	case SQLITE_TEXT:
		return "text";
	default:
		return "a blob";
	}
}

int
db_id_by_int(h4h_db *db, int which, int64_t key, int64_t *out)
{
	sqlite3_stmt *st = db->st[which];
	int rc;

	sqlite3_bind_int64(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out != NULL)
		*out = sqlite3_column_int64(st, 0);
	db_done_st(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

void
db_hex64(uint64_t h, char buf[17])
{
	snprintf(buf, 17, "%016llx", (unsigned long long)h);
}

int
db_tx_begin(h4h_db *db, h4h_err *err)
{
	if (db->readonly)
		return db_readonly_err(db, err);
	if (db_run_st(db, ST_BEGIN) != SQLITE_OK)
		return db_write_err(db, err);
	return 0;
}

/* Commits if rc is 0, else rolls back; returns the outcome. */
int
db_tx_end(h4h_db *db, int rc, h4h_err *err)
{
	if (rc == 0 && db_run_st(db, ST_COMMIT) != SQLITE_OK)
		rc = db_write_err(db, err);
	if (rc != 0 && !sqlite3_get_autocommit(db->s))
		db_run_st(db, ST_ROLLBACK);
	return rc;
}

/* ---- open and close ----------------------------------------------------- */

static const char sqlite_magic[16] = "SQLite format 3";

/* Whether path is a regular file (*exists), or missing; H4H_EINPUT
 * otherwise.  stat only, never open: closing any descriptor of a file
 * drops every POSIX lock this process holds on it, SQLite's included, so
 * opening a second handle on a database the process already has open
 * would let another process take it for unused, checkpoint and delete the
 * WAL under this one's writer, and corrupt the file (two `h4h reproduce`
 * on one database did).  The header is read through SQLite's own
 * descriptor instead (check_magic). */
static int
check_file(const char *path, int *exists, h4h_err *err)
{
	struct stat sb;

	*exists = 0;
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		return h4h_errf(err, H4H_EINPUT, "cannot open database '%s': "
		    "%s", path, strerror(errno));
	}
	if (!S_ISREG(sb.st_mode))
		return h4h_errf(err, H4H_EINPUT, "'%s' is not an h4h database "
		    "(not a regular file)", path);
	*exists = 1;
	return 0;
}

/* A non-empty file must start with SQLite's 16-byte magic: read through
 * the connection's own file handle (check_file says why), before SQLite
 * itself reads or writes anything. */
static int
check_magic(h4h_db *db, h4h_err *err)
{
	sqlite3_file *f = NULL;
	sqlite3_int64 size = 0;
	char head[16];

	if (sqlite3_file_control(db->s, "main", SQLITE_FCNTL_FILE_POINTER,
	    &f) != SQLITE_OK || f == NULL || f->pMethods == NULL)
		return 0;	/* not opened yet: SQLite will say */
	if (f->pMethods->xFileSize(f, &size) != SQLITE_OK)
		return h4h_errf(err, H4H_EINPUT, "cannot open database '%s': "
		    "cannot read its size", db->path);
	if (size > 0 && (size < (sqlite3_int64)sizeof head ||
	    f->pMethods->xRead(f, head, sizeof head, 0) != SQLITE_OK ||
	    memcmp(head, sqlite_magic, sizeof head) != 0))
		return h4h_errf(err, H4H_EINPUT, "'%s' is not an h4h database "
		    "(not an SQLite file)", db->path);
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
		return db_write_err(db, err);
	rc = read_header(db->s, &app, &version, &tables);
	if (rc != SQLITE_OK) {
		rc = db_read_err(db, err);
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
		if (db_migrations[v](db->s) != SQLITE_OK) {
			rc = h4h_errf(err, H4H_EIO, "cannot upgrade '%s' from "
			    "schema version %d: %s", db->path, v,
			    db_reason(db->s));
			goto out;
		}
	}
	snprintf(sql, sizeof sql, "PRAGMA application_id = %d; "
	    "PRAGMA user_version = %d", H4H_DB_APPLICATION_ID,
	    H4H_DB_SCHEMA_VERSION);
	if (sqlite3_exec(db->s, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db->s, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_write_err(db, err);
		goto out;
	}
	/* Versions 5 and 6 dropped the networks' canonical texts and
	 * shrank labels and candidate lists: give the pages back to the file
	 * system (the upgrade happens once per file). */
	if (version >= 1 && version < 6 &&
	    sqlite3_exec(db->s, "VACUUM", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_write_err(db, err);
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
		    path, db_reason(db->s));
		goto fail;
	}
	if ((rc = check_magic(db, err)) != 0)
		goto fail;
	sqlite3_extended_result_codes(db->s, 1);
	sqlite3_busy_timeout(db->s, 30000);
	if (db_funcs_register(db->s) != SQLITE_OK) {
		rc = h4h_errf(err, H4H_EIO, "cannot open database '%s': %s",
		    path, db_reason(db->s));
		goto fail;
	}
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
		    "(%s)", path, db_reason(db->s)) :
		    h4h_errf(err, H4H_EIO, "cannot open database '%s': %s",
		    path, db_reason(db->s));
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
			    "%d, older than this h4h's (%d); upgrade it with "
			    "h4h db upgrade --db FILE", path, version,
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
		rc = db_read_err(db, err);
		goto fail;
	}
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(db->s, st_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->st[i], NULL) != SQLITE_OK) {
			rc = h4h_errf(err, H4H_EINPUT, "'%s' is not an h4h "
			    "database of schema version %d (%s)", path,
			    H4H_DB_SCHEMA_VERSION, db_reason(db->s));
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
	free(c->raw);
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
		db_pnet_free(db->pend_nets.p[i]);
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

