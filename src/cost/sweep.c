/*
 * sweep.c - sweeps and their runs: a sweep is the canonical text of its
 * arguments, each point a run that is pending, running (with the pid that
 * claimed it), done or failed, so an interrupted sweep resumes where it
 * stopped, without duplicates, even with several processes at once.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "cost/dbInt.h"

#include <stdio.h>

/* ---- sweeps ------------------------------------------------------------- */

int
db_sweep_points(h4h_db *db, int64_t sweep_id, int64_t *n, h4h_err *err)
{
	int rc = db_id_by_int(db, ST_SWEEP_NPOINTS, sweep_id, n);

	if (rc < 0)
		return db_read_err(db, err);
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
	if ((rc = db_tx_begin(db, err)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, args, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		int have = sqlite3_column_int(st, 1);

		*sweep_id = sqlite3_column_int64(st, 0);
		db_done_st(st);
		if (have != n_points)
			rc = h4h_errf(err, H4H_EINPUT, "sweep %lld in '%s' has "
			    "the same arguments but %d points, not %d",
			    (long long)*sweep_id, db->path, have, n_points);
		/* Beginning a sweep again retries the points that failed,
		 * and those done whose stored cost cannot be right (their
		 * rerun repairs it, store.c). */
		if (rc == 0 && exec_int64(db, "UPDATE runs SET status = "
		    "'pending', error = NULL, pid = NULL WHERE sweep_id = ?1 AND "
		    "status = 'failed'", *sweep_id) != SQLITE_OK)
			rc = db_write_err(db, err);
		if (rc == 0 && exec_int64(db, "UPDATE runs SET status = "
		    "'pending', pid = NULL, started_at = NULL, ended_at = NULL "
		    "WHERE sweep_id = ?1 AND status = 'done' AND EXISTS (SELECT "
		    "1 FROM network_costs c WHERE c.system_id = runs.system_id "
		    "AND c.network_id = runs.network_id AND ' ' || runs.params "
		    "|| ' ' LIKE '% objective=' || c.objective || ' %' AND NOT "
		    NCOST_OK("c.") ")", *sweep_id) != SQLITE_OK)
			rc = db_write_err(db, err);
		return db_tx_end(db, rc, err);
	}
	db_done_st(st);
	if (step != SQLITE_DONE)
		return db_tx_end(db, db_read_err(db, err), err);
	st = db->st[ST_SWEEP_INSERT];
	sqlite3_bind_text(st, 1, args, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, n_points);
	if (db_run_st(db, ST_SWEEP_INSERT) != SQLITE_OK)
		return db_tx_end(db, db_write_err(db, err), err);
	*sweep_id = sqlite3_last_insert_rowid(db->s);
	st = db->st[ST_RUN_INSERT];
	for (int i = 0; i < n_points && rc == 0; i++) {
		sqlite3_bind_int64(st, 1, *sweep_id);
		sqlite3_bind_int(st, 2, i);
		sqlite3_bind_text(st, 3, point_params[i] ? point_params[i] : "",
		    -1, SQLITE_STATIC);
		if (db_run_st(db, ST_RUN_INSERT) != SQLITE_OK)
			rc = db_write_err(db, err);
	}
	rc = db_tx_end(db, rc, err);
	*created = rc == 0;
	return rc;
}

/* When process pid started, in seconds since the epoch (Linux: its start
 * in clock ticks after boot, /proc/PID/stat field 22, plus the boot time,
 * /proc/stat btime), or -1 when unknown. */
static double
proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks = 0, btime = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces: from the
	 * last ')' on, field 3 is first; starttime is field 22. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (int field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &ticks) != 1)
		return -1;
	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	while (fgets(buf, sizeof buf, f) != NULL)
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	if (btime == 0 || sysconf(_SC_CLK_TCK) <= 0)
		return -1;
	return (double)btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

/* A process that no longer exists (EPERM: it exists, another user's), or
 * one that started after the run was claimed (at `claimed`, seconds since
 * the epoch, 0 when unknown): its pid was reused.  On a busy machine
 * (pid_max 32768) a killed sweep's pid came back within seconds and
 * held its point 'running' for good. */
static int
pid_dead(sqlite3_int64 pid, sqlite3_int64 claimed)
{
	double start;

	if (pid <= 0 || pid != (pid_t)pid)
		return 1;
	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return 1;
	/* started_at has whole seconds: a second of slack. */
	return claimed > 0 && (start = proc_start((pid_t)pid)) > 0 &&
	    start > (double)claimed + 1.0;
}

int
h4h_db_run_claim(h4h_db *db, int64_t sweep_id, int *point, h4h_err *err)
{
	return h4h_db_run_claim_share(db, sweep_id, 0, 1, point, err);
}

/* Up to max points of one share claimed in one transaction (*got of
 * them, in order). */
static int
claim(h4h_db *db, int64_t sweep_id, int share, int n_shares, int max,
    int *points, int *got, h4h_err *err)
{
	sqlite3_stmt *st;
	int64_t n;
	vec dead = { 0 };
	int rc, step;

	*got = 0;
	if ((rc = db_sweep_points(db, sweep_id, &n, err)) != 0 ||
	    (rc = db_tx_begin(db, err)) != 0)
		return rc;
	/* Points left 'running' by a process that died go back to pending
	 * (collected first: no update while the select is open). */
	st = db->st[ST_RUN_RUNNING];
	sqlite3_bind_int64(st, 1, sweep_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_type(st, 1) == SQLITE_NULL ||
		    pid_dead(sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2)))
			vec_push(&dead, (void *)(intptr_t)sqlite3_column_int(st,
			    0));
	db_done_st(st);
	if (step != SQLITE_DONE)
		rc = db_read_err(db, err);
	st = db->st[ST_RUN_RESET];
	for (size_t i = 0; rc == 0 && i < dead.n; i++) {
		sqlite3_bind_int64(st, 1, sweep_id);
		sqlite3_bind_int(st, 2, (int)(intptr_t)dead.p[i]);
		if (db_run_st(db, ST_RUN_RESET) != SQLITE_OK)
			rc = db_write_err(db, err);
	}
	free(dead.p);
	/* The next pending point, then marked running: the select sees the
	 * update, so each turn finds the next one. */
	while (rc == 0 && *got < max) {
		int point = -1;

		st = db->st[ST_RUN_NEXT];
		sqlite3_bind_int64(st, 1, sweep_id);
		sqlite3_bind_int(st, 2, n_shares);
		sqlite3_bind_int(st, 3, share);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			point = sqlite3_column_int(st, 0);
		else if (step != SQLITE_DONE)
			rc = db_read_err(db, err);
		db_done_st(st);
		if (rc != 0 || point < 0)
			break;
		st = db->st[ST_RUN_START];
		sqlite3_bind_int64(st, 1, sweep_id);
		sqlite3_bind_int(st, 2, point);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)getpid());
		if (db_run_st(db, ST_RUN_START) != SQLITE_OK)
			rc = db_write_err(db, err);
		else
			points[(*got)++] = point;
	}
	rc = db_tx_end(db, rc, err);
	if (rc != 0)
		*got = 0;
	return rc;
}

int
h4h_db_run_claim_share(h4h_db *db, int64_t sweep_id, int share,
    int n_shares, int *point, h4h_err *err)
{
	int got, rc = claim(db, sweep_id, share, n_shares, 1, point, &got,
	    err);

	if (got == 0)
		*point = -1;
	return rc;
}

int
h4h_db_run_claim_batch(h4h_db *db, int64_t sweep_id, int max, int *points,
    int *n, h4h_err *err)
{
	return claim(db, sweep_id, 0, 1, max, points, n, err);
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
	if (db_run_st(db, which) != SQLITE_OK)
		return db_write_err(db, err);
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

	return db_write_batch(db, run_mark, &a, err);
}

typedef struct runs_args {
	int64_t sweep_id;
	int n;
	const int *points;
	const int64_t *system_ids, *network_ids;
} runs_args;

static int
runs_mark(h4h_db *db, const void *arg, h4h_err *err)
{
	const runs_args *a = arg;
	int rc = 0;

	for (int i = 0; rc == 0 && i < a->n; i++) {
		run_args one = { a->sweep_id, a->system_ids[i],
		    a->network_ids[i], a->points[i], NULL };

		rc = run_mark(db, &one, err);
	}
	return rc;
}

int
h4h_db_runs_finish(h4h_db *db, int64_t sweep_id, int n, const int *points,
    const int64_t *system_ids, const int64_t *network_ids, h4h_err *err)
{
	runs_args a = { sweep_id, n, points, system_ids, network_ids };

	return db_write_batch(db, runs_mark, &a, err);
}

/* Only the run: what is pending stays for the next flush. */
int
h4h_db_run_fail(h4h_db *db, int64_t sweep_id, int point,
    const char *message, h4h_err *err)
{
	run_args a = { sweep_id, 0, 0, point, message ? message : "" };
	int rc;

	if ((rc = db_tx_begin(db, err)) != 0)
		return rc;
	return db_tx_end(db, run_mark(db, &a, err), err);
}

int
h4h_db_sweep_progress(h4h_db *db, int64_t sweep_id, int *done,
    int *failed, int *total, h4h_err *err)
{
	sqlite3_stmt *st = db->st[ST_SWEEP_PROGRESS];
	int64_t n;
	int rc;

	if ((rc = db_sweep_points(db, sweep_id, &n, err)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, sweep_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*total = sqlite3_column_int(st, 0);
		*done = sqlite3_column_int(st, 1);
		*failed = sqlite3_column_int(st, 2);
	}
	db_done_st(st);
	return rc == SQLITE_ROW ? 0 : db_read_err(db, err);
}

int
h4h_db_sweep_end(h4h_db *db, int64_t sweep_id, h4h_err *err)
{
	int64_t n;
	int rc;

	if ((rc = db_sweep_points(db, sweep_id, &n, err)) != 0 ||
	    (rc = db_tx_begin(db, err)) != 0)
		return rc;
	sqlite3_bind_int64(db->st[ST_SWEEP_END], 1, sweep_id);
	if (db_run_st(db, ST_SWEEP_END) != SQLITE_OK)
		rc = db_write_err(db, err);
	return db_tx_end(db, rc, err);
}

