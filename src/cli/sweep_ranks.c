/*
 * sweep_ranks.c - `mpirun -np N h4h sweep ...`: rank 0 owns the database
 * and the queue, the other ranks simulate (doc/scale.md).
 *
 * Rank 0 claims points from the database as any worker does (each run
 * 'running' under rank 0's pid) and sends each to an idle rank.  A rank
 * simulates it into its own scratch database (a file in $TMPDIR, never
 * shared) and sends back that file's rows as an SQLite image; rank 0
 * merges them by identity (merge.h) and marks the run done, so the
 * database ends with the rows a one-process run writes.  The scratch file
 * keeps the rank's layer memo across points; the cost rows already sent
 * are deleted from it (h4h_db_image_take), so an image carries what is
 * new plus the small identity tables.  Beside the ranks, rank 0 forks its
 * --jobs local workers, which claim points from the database directly, so
 * rank 0's node simulates too.
 *
 * Faults: a run that dies (any rank, killed or crashed) leaves its claimed
 * points 'running' under a pid that no longer exists; the next run of the
 * same command takes them again, and every committed point stays.  The
 * launcher names the rank that died (mpirun: "process rank N ... exited
 * on signal 9") and stops the others.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ranks.h"
#include "cli/sweep.h"
#include "core/le.h"
#include "cost/merge.h"
#include "cost/query.h"
#include "cost/store.h"
#include "cost/sweep.h"

/* Rank 0 -> rank: int32 point, -1 to stop.  Rank -> rank 0: int32 point,
 * int32 ok, then the image (ok) or the error message (not ok). */
enum { TAG_POINT = 1, TAG_RESULT = 2 };

#define MAX_LOCAL 64

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
send_point(int to, int point, h4h_err *err)
{
	unsigned char b[4];

	h4h_le_put32(b, (uint32_t)point);
	return cli_ranks_send(to, TAG_POINT, b, sizeof b, err);
}

void
sweep_ranks_release(void)
{
	h4h_err err = { "" };

	for (int r = 1; r < cli_ranks(); r++)
		send_point(r, -1, &err);
}

/* ---- the other ranks ----------------------------------------------------- */

static int
send_result(int point, int ok, const void *body, size_t n, h4h_err *err)
{
	unsigned char *msg = h4h_xmalloc(8 + n);
	int rc;

	h4h_le_put32(msg, (uint32_t)point);
	h4h_le_put32(msg + 4, (uint32_t)ok);
	if (n > 0)
		memcpy(msg + 8, body, n);
	rc = cli_ranks_send(0, TAG_RESULT, msg, 8 + n, err);
	free(msg);
	return rc;
}

static void
scratch_remove(const char *path)
{
	char side[4200];

	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

/* Removes the scratch files (and their -wal, -shm) of this host's ranks
 * whose process no longer exists. */
static void
scratch_sweep_stale(const char *dir, const char *host)
{
	char prefix[300], path[4200];
	size_t np;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	np = (size_t)snprintf(prefix, sizeof prefix, "h4h-sweep-%s-", host);
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid;

		if (strncmp(e->d_name, prefix, np) != 0)
			continue;
		pid = strtol(e->d_name + np, &end, 10);
		if (end == e->d_name + np || *end != '-' || pid <= 0 ||
		    (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

int
sweep_ranks_serve(const sweep *s, h4h_err *err)
{
	const char *dir = getenv("TMPDIR");
	char path[4096], host[256] = "host";
	h4h_db *db = NULL;
	int fd, rc;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	gethostname(host, sizeof host - 1);
	for (char *c = host; *c != '\0'; c++)
		if (*c == '/' || *c == '-')
			*c = '_';
	scratch_sweep_stale(dir, host);
	snprintf(path, sizeof path, "%s/h4h-sweep-%s-%ld-XXXXXX", dir, host,
	    (long)getpid());
	if ((fd = mkstemp(path)) < 0)
		return h4h_errf(err, H4H_EIO, "rank %d: cannot create a scratch "
		    "database in %s: %s", cli_rank(), dir,
		    strerror(errno));
	close(fd);
	if ((rc = h4h_db_open(path, H4H_DB_CREATE, &db, err)) != 0) {
		scratch_remove(path);
		return rc;
	}
	for (;;) {
		void *msg;
		size_t n;
		int point, prc;
		int64_t sys, net;
		h4h_err perr = { "" };

		if ((rc = cli_ranks_recv(0, TAG_POINT, NULL, NULL, &msg, &n,
		    err)) != 0)
			break;
		point = n == 4 ? (int)(int32_t)h4h_le_get32(msg) : -1;
		free(msg);
		if (point < 0 || point >= s->n_points)
			break;
		prc = sweep_point_sim(db, s, point, &sys, &net, &perr);
		if (prc == 0) {
			void *img;
			size_t len;

			prc = h4h_db_image_take(db, 1, &img, &len, &perr);
			if (prc == 0) {
				rc = send_result(point, 1, img, len, err);
				free(img);
			}
		}
		if (prc != 0)
			rc = send_result(point, 0, perr.msg, strlen(perr.msg),
			    err);
		if (rc != 0)
			break;
	}
	h4h_db_close(db);
	scratch_remove(path);
	return rc;
}

/* ---- rank 0 ----------------------------------------------------------------- */

typedef struct coord {
	const sweep *s;
	h4h_db *db;
	int failed;
	int remote;		/* points the other ranks simulated */
	int *point;		/* per rank: the point it runs, -1 idle, */
} coord;			/* -2 stopped */

/* A result from rank `from`: its rows merged, then its run marked, each
 * in one transaction (a kill between them leaves the rows, and the
 * point is run again, found at once). */
static int
take_result(coord *c, int from, const unsigned char *msg, size_t n,
    h4h_err *err)
{
	const sweep *s = c->s;
	int point, ok, rc;
	char label[64];
	h4h_err perr = { "" };
	int64_t sys, net;

	if (n < 8)
		return h4h_errf(err, H4H_EIO, "rank %d sent a result of %zu "
		    "bytes", from, n);
	point = (int)(int32_t)h4h_le_get32(msg);
	ok = (int)h4h_le_get32(msg + 4);
	if (point != c->point[from])
		return h4h_errf(err, H4H_EIO, "rank %d sent point %d, not its "
		    "point %d", from, point, c->point[from]);
	c->point[from] = -1;
	snprintf(label, sizeof label, "rank %d, point %d", from, point);
	if (ok) {
		rc = h4h_db_merge_image(c->db, msg + 8, n - 8, label, NULL,
		    &perr);
		if (rc == 0)
			rc = sweep_point_ids(c->db, s, point, &sys, &net, &perr);
		if (rc == 0)
			rc = h4h_db_run_finish(c->db, s->sweep_id, point, sys,
			    net, &perr);
		c->remote += rc == 0;
		if (rc == H4H_EIO)
			return h4h_errf(err, rc, "%s", perr.msg);
	} else {
		rc = 1;
		snprintf(perr.msg, sizeof perr.msg, "rank %d: %.*s", from,
		    (int)(n - 8 < 900 ? n - 8 : 900), (const char *)msg + 8);
	}
	if (rc != 0) {
		c->failed++;
		fprintf(stderr, "h4h: sweep: point %d (%s): %s\n", point,
		    s->params[point], perr.msg);
		if ((rc = h4h_db_run_fail(c->db, s->sweep_id, point, perr.msg,
		    err)) != 0)
			return rc;
	}
	return 0;
}

/* Gives every idle rank a point, or tells it to stop when none is left;
 * how many ranks still run. */
static int
dispatch(coord *c, h4h_err *err)
{
	int running = 0, rc;

	for (int r = 1; r < cli_ranks(); r++) {
		if (c->point[r] == -1) {
			int point;

			if ((rc = h4h_db_run_claim(c->db, c->s->sweep_id,
			    &point, err)) != 0)
				return rc;
			if ((rc = send_point(r, point, err)) != 0)
				return rc;
			c->point[r] = point < 0 ? -2 : point;
		}
		running += c->point[r] >= 0;
	}
	return running;
}

int
sweep_ranks_coordinate(const sweep *s, int jobs, int quiet, h4h_err *err)
{
	coord c = { s, NULL, 0, 0, NULL };
	int pids[MAX_LOCAL], live = jobs, rc, running = 1, done, nfail, total;
	double t0 = now_s(), shown = 0;
	struct timespec nap = { 0, 200000 };

	if (jobs > MAX_LOCAL)
		jobs = MAX_LOCAL;
	/* The local workers first: a child must not inherit the handle. */
	if ((rc = sweep_fork_jobs(s, jobs, pids, err)) != 0) {
		sweep_ranks_release();
		return rc;
	}
	if ((rc = h4h_db_open(s->db_path, 0, &c.db, err)) != 0) {
		sweep_ranks_release();
		return rc;
	}
	c.point = h4h_xcalloc((size_t)cli_ranks(), sizeof *c.point);
	for (int r = 1; r < cli_ranks(); r++)
		c.point[r] = -1;
	while (running > 0 || live > 0) {
		int status, pend;
		pid_t pid;

		if (running > 0 && (running = dispatch(&c, err)) < 0) {
			rc = running;
			break;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			live--;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				c.failed++;
		}
		if ((pend = cli_ranks_pending(-1, TAG_RESULT, err)) < 0) {
			rc = pend;
			break;
		}
		if (pend) {
			void *msg;
			size_t n;
			int from;

			if ((rc = cli_ranks_recv(-1, TAG_RESULT, &from, NULL,
			    &msg, &n, err)) == 0)
				rc = take_result(&c, from, msg, n, err);
			free(msg);
			if (rc != 0)
				break;
			nap.tv_nsec = 200000;
		} else {
			nanosleep(&nap, NULL);
			if (nap.tv_nsec < 20000000)
				nap.tv_nsec += nap.tv_nsec / 4;
		}
		if (!quiet && now_s() - shown > 0.2 &&
		    h4h_db_sweep_progress(c.db, s->sweep_id, &done, &nfail,
		    &total, NULL) == 0) {
			shown = now_s();
			cli_progress("sweep", done + nfail, total, shown - t0);
		}
	}
	if (rc != 0) {
		/* Stop the ranks still waiting for a point; those that run one
		 * end with the launcher. */
		for (int r = 1; r < cli_ranks(); r++)
			if (c.point[r] == -1)
				send_point(r, -1, &(h4h_err){ "" });
		while (live > 0 && waitpid(-1, NULL, 0) > 0)
			live--;
	}
	if (!quiet && rc == 0) {
		cli_progress_end();
		fprintf(stderr, "h4h: sweep: ranks 1-%d simulated %d point%s, "
		    "rank 0's %d local worker%s the rest\n", cli_ranks() - 1,
		    c.remote, c.remote == 1 ? "" : "s", jobs,
		    jobs == 1 ? "" : "s");
	}
	cli_db_bad_rows("sweep", c.db);
	h4h_db_close(c.db);
	free(c.point);
	return rc != 0 ? rc : c.failed;
}
