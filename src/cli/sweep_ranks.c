/*
 * sweep_ranks.c - `mpirun -np N h4h sweep ...`: rank 0 owns the database
 * and the queue, the other ranks simulate (doc/scale.md).
 *
 * Rank 0 claims points from the database as any worker does (each run
 * 'running' under rank 0's pid) and sends them in batches to the other
 * ranks, at most --jobs batches in flight per rank.  A rank with --jobs 1
 * simulates them itself; with --jobs J it forks J workers and relays each
 * batch to an idle one over a socket (only the relay calls MPI).  A
 * worker simulates its batch into its own scratch database (a file in
 * $TMPDIR, never shared) and sends back that file's rows as one SQLite
 * image; rank 0 merges them by identity (merge.h) in one transaction and
 * marks the batch's runs done in another, so the database ends with the
 * rows a one-process run writes.  The scratch file keeps the worker's
 * layer memo across batches; the cost rows already sent are deleted from
 * it (h4h_db_image_take), so an image carries what is new plus the small
 * identity tables.  Beside the ranks, rank 0 forks its --jobs local
 * workers, which claim points from the database directly, so rank 0's
 * node simulates too.
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
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
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

/* Rank 0 -> rank (TAG_POINT): int32 n, then n int32 points; n = 0 says
 * stop.  Rank -> rank 0 (TAG_RESULT): int32 worker (its index among the
 * rank's --jobs workers), int32 n, then per point int32 point, int32 ok,
 * int32 length and that many bytes of its error message (none when ok),
 * then the image of the rows of the points that succeeded (empty when
 * none did).  Within a rank the relay forwards the same bytes to and from
 * its workers over a socket, each message after its int64 length. */
enum { TAG_POINT = 1, TAG_RESULT = 2 };

#define MAX_LOCAL 64
/* Points per batch at most: each batch costs rank 0 one claim, one merge
 * and one transaction of runs whatever its size, so larger batches raise
 * the ceiling rank 0 sets on a sweep; smaller ones share the last points
 * more evenly.  H4H_SWEEP_BATCH=B (1..MAX_BATCH) lowers it, for points
 * that take minutes each.  Measured in doc/scale.md. */
#define MAX_BATCH 32

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* This thread's CPU seconds: rank 0's own cost of the other ranks'
 * points, apart from the other processes on its cores. */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
batch_max(void)
{
	const char *e = getenv("H4H_SWEEP_BATCH");
	long b = e != NULL ? strtol(e, NULL, 10) : MAX_BATCH;

	return b < 1 ? 1 : b > MAX_BATCH ? MAX_BATCH : (int)b;
}

static int
send_points(int to, const int *points, int n, h4h_err *err)
{
	unsigned char b[4 + 4 * MAX_BATCH];

	h4h_le_put32(b, (uint32_t)n);
	for (int i = 0; i < n; i++)
		h4h_le_put32(b + 4 + 4 * i, (uint32_t)points[i]);
	return cli_ranks_send(to, TAG_POINT, b, 4 + 4 * (size_t)n, err);
}

void
sweep_ranks_release(void)
{
	h4h_err err = { "" };

	for (int r = 1; r < cli_ranks(); r++)
		send_points(r, NULL, 0, &err);
}

/* ---- the other ranks ----------------------------------------------------- */

/* A rank's workers talk to rank 0 (fd < 0: by MPI, the rank itself
 * simulates) or to their relay (a socket).  Messages on a socket go after
 * their int64 length. */
static int
fd_write(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fd_read(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
link_put(int fd, int tag, const void *msg, size_t n, h4h_err *err)
{
	unsigned char len[8];

	if (fd < 0)
		return cli_ranks_send(0, tag, msg, n, err);
	h4h_le_put64(len, (uint64_t)n);
	if (fd_write(fd, len, sizeof len) != 0 || fd_write(fd, msg, n) != 0)
		return h4h_errf(err, H4H_EIO, "rank %d: a worker's socket: %s",
		    cli_rank(), strerror(errno));
	return 0;
}

/* The next message; 1 at the end of the stream (the other end is
 * gone). */
static int
link_get(int fd, void **msg, size_t *n, h4h_err *err)
{
	unsigned char len[8];

	*msg = NULL;
	*n = 0;
	if (fd < 0)
		return cli_ranks_recv(0, TAG_POINT, NULL, NULL, msg, n, err);
	if (fd_read(fd, len, sizeof len) != 0)
		return 1;
	*n = (size_t)h4h_le_get64(len);
	if (*n > ((size_t)1 << 40))
		return h4h_errf(err, H4H_EIO, "rank %d: a message of %zu bytes "
		    "on a worker's socket", cli_rank(), *n);
	*msg = h4h_xmalloc(*n > 0 ? *n : 1);
	if (fd_read(fd, *msg, *n) != 0) {
		free(*msg);
		*msg = NULL;
		return 1;
	}
	return 0;
}

/* One batch simulated into the scratch database db; its result message
 * (above) into *out. */
static void
serve_batch(h4h_db *db, const sweep *s, int worker, const unsigned char *msg,
    size_t n, void **out, size_t *out_n)
{
	int count = n >= 4 ? (int)(int32_t)h4h_le_get32(msg) : 0, good = 0;
	char *buf = NULL, **why;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	unsigned char b[4];
	void *img = NULL;
	size_t img_n = 0;
	h4h_err ierr = { "" };

	if (count < 0 || (size_t)count > (n - 4) / 4)
		count = 0;
	why = h4h_xcalloc((size_t)count + 1, sizeof *why);
	for (int i = 0; i < count; i++) {
		int point = (int)(int32_t)h4h_le_get32(msg + 4 + 4 * i);
		int64_t sys, net;
		h4h_err perr = { "" };

		if (point < 0 || point >= s->n_points)
			snprintf(perr.msg, sizeof perr.msg, "no point %d in a "
			    "sweep of %d", point, s->n_points);
		else if (sweep_point_sim(db, s, point, &sys, &net, &perr) == 0)
			good++;
		if (perr.msg[0] != '\0')
			why[i] = h4h_xstrdup(perr.msg);
	}
	/* One image for the whole batch; if it cannot be taken, every point
	 * of the batch fails with its reason. */
	if (good > 0 && h4h_db_image_take(db, 1, &img, &img_n, &ierr) != 0)
		img_n = 0;
	h4h_le_put32(b, (uint32_t)worker);
	fwrite(b, 1, 4, f);
	h4h_le_put32(b, (uint32_t)count);
	fwrite(b, 1, 4, f);
	for (int i = 0; i < count; i++) {
		const char *e = why[i] != NULL ? why[i] : img_n == 0 ?
		    ierr.msg : NULL;
		size_t el = e != NULL ? strlen(e) : 0;

		fwrite(msg + 4 + 4 * i, 1, 4, f);
		h4h_le_put32(b, e == NULL);
		fwrite(b, 1, 4, f);
		h4h_le_put32(b, (uint32_t)el);
		fwrite(b, 1, 4, f);
		if (el > 0)
			fwrite(e, 1, el, f);
		free(why[i]);
	}
	if (img_n > 0)
		fwrite(img, 1, img_n, f);
	fclose(f);
	free(img);
	free(why);
	*out = buf;
	*out_n = len;
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

/* Opens a private scratch database in $TMPDIR (and removes this host's
 * stale ones) for one worker: the path into path. */
static int
scratch_open(char *path, size_t size, h4h_db **db, h4h_err *err)
{
	const char *dir = getenv("TMPDIR");
	char host[256] = "host";
	int fd, rc;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	gethostname(host, sizeof host - 1);
	for (char *c = host; *c != '\0'; c++)
		if (*c == '/' || *c == '-')
			*c = '_';
	scratch_sweep_stale(dir, host);
	snprintf(path, size, "%s/h4h-sweep-%s-%ld-XXXXXX", dir, host,
	    (long)getpid());
	if ((fd = mkstemp(path)) < 0)
		return h4h_errf(err, H4H_EIO, "rank %d: cannot create a scratch "
		    "database in %s: %s", cli_rank(), dir,
		    strerror(errno));
	close(fd);
	if ((rc = h4h_db_open(path, H4H_DB_CREATE, db, err)) != 0)
		scratch_remove(path);
	return rc;
}

/* A worker: batches from fd (or from rank 0 by MPI when fd < 0),
 * simulated into its own scratch database, until told to stop. */
static int
serve(const sweep *s, int worker, int fd, h4h_err *err)
{
	char path[4096];
	h4h_db *db = NULL;
	int rc;

	if ((rc = scratch_open(path, sizeof path, &db, err)) != 0)
		return rc;
	for (;;) {
		void *msg, *out;
		size_t n, out_n;

		if ((rc = link_get(fd, &msg, &n, err)) != 0)
			break;
		if (n < 4 || h4h_le_get32(msg) == 0) {
			free(msg);
			break;
		}
		serve_batch(db, s, worker, msg, n, &out, &out_n);
		free(msg);
		rc = link_put(fd, TAG_RESULT, out, out_n, err);
		free(out);
		if (rc != 0)
			break;
	}
	h4h_db_close(db);
	scratch_remove(path);
	return rc > 0 ? 0 : rc;
}

/* --jobs J > 1 on a rank: J forked workers, each with its own scratch
 * database, and this process relays batches from rank 0 to an idle
 * worker and their results back (the workers never call MPI).  Rank 0
 * never sends a rank more than J batches at once, and sends it the stop
 * only when none is in flight. */
static int
relay(const sweep *s, int jobs, h4h_err *err)
{
	struct pollfd pfd[MAX_LOCAL];
	int pids[MAX_LOCAL], busy[MAX_LOCAL] = { 0 }, served[MAX_LOCAL] = { 0 };
	int rc = 0, n_up = 0, nap_ms = 1;

	fflush(NULL);
	for (int j = 0; j < jobs; j++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
			rc = h4h_errf(err, H4H_EIO, "rank %d: socketpair: %s",
			    cli_rank(), strerror(errno));
			break;
		}
		if ((pids[j] = fork()) < 0) {
			rc = h4h_errf(err, H4H_EIO, "rank %d: fork: %s",
			    cli_rank(), strerror(errno));
			close(sv[0]);
			close(sv[1]);
			break;
		}
		if (pids[j] == 0) {
			h4h_err werr = { "" };

#ifdef __linux__
			/* A worker outlives nothing: a killed rank takes its
			 * workers with it. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1)
				_exit(3);
#endif
			for (int k = 0; k < j; k++)
				close(pfd[k].fd);
			close(sv[0]);
			/* _exit: MPI is the relay's, never finalised here. */
			if (serve(s, j, sv[1], &werr) != 0) {
				fprintf(stderr, "h4h: sweep: rank %d, worker %d: "
				    "%s\n", cli_rank(), j, werr.msg);
				_exit(1);
			}
			_exit(0);
		}
		close(sv[1]);
		pfd[j].fd = sv[0];
		pfd[j].events = POLLIN;
		pfd[j].revents = 0;
		n_up++;
	}
	while (rc == 0) {
		int pend, got = 0;

		/* Results first: each frees a worker. */
		for (int j = 0; rc == 0 && j < n_up; j++) {
			void *msg;
			size_t n;

			if (!(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			pfd[j].revents = 0;
			if ((rc = link_get(pfd[j].fd, &msg, &n, err)) > 0)
				rc = h4h_errf(err, H4H_EIO, "rank %d: worker %d "
				    "(pid %d) died", cli_rank(), j, pids[j]);
			if (rc == 0)
				rc = cli_ranks_send(0, TAG_RESULT, msg, n, err);
			free(msg);
			busy[j] = 0;
			got = 1;
		}
		/* Then every batch that waits, each to the idle worker that
		 * has served fewest, so each worker gets work early. */
		while (rc == 0 && (pend = cli_ranks_pending(0, TAG_POINT,
		    err)) != 0) {
			void *msg;
			size_t n;
			int pick = -1;

			if (pend < 0 || (rc = link_get(-1, &msg, &n, err)) != 0) {
				rc = pend < 0 ? pend : rc;
				break;
			}
			got = 1;
			if (n < 4 || h4h_le_get32(msg) == 0) {
				free(msg);
				goto stop;
			}
			for (int j = 0; j < n_up; j++)
				if (!busy[j] && (pick < 0 ||
				    served[j] < served[pick]))
					pick = j;
			if (pick < 0)
				rc = h4h_errf(err, H4H_EIO, "rank %d: rank 0 sent "
				    "more batches than its %d workers", cli_rank(),
				    n_up);
			else if ((rc = link_put(pfd[pick].fd, TAG_POINT, msg, n,
			    err)) == 0) {
				busy[pick] = 1;
				served[pick]++;
			}
			free(msg);
		}
		if (rc != 0)
			break;
		/* Wait for a worker, or poll rank 0 again after a while
		 * (longer while nothing happens). */
		nap_ms = got ? 1 : nap_ms < 20 ? nap_ms + 1 : 20;
		if (poll(pfd, (nfds_t)n_up, nap_ms) < 0 && errno != EINTR)
			rc = h4h_errf(err, H4H_EIO, "rank %d: poll: %s",
			    cli_rank(), strerror(errno));
	}
stop:
	/* A zero-length batch stops a worker; its socket closed does too. */
	for (int j = 0; j < n_up; j++) {
		unsigned char zero[4] = { 0 };

		link_put(pfd[j].fd, TAG_POINT, zero, sizeof zero,
		    &(h4h_err){ "" });
		close(pfd[j].fd);
	}
	for (int j = 0; j < n_up; j++) {
		int status;

		if (waitpid(pids[j], &status, 0) == pids[j] && rc == 0 &&
		    (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			rc = h4h_errf(err, H4H_EIO, "rank %d: worker %d ended "
			    "with status %d", cli_rank(), j, status);
	}
	return rc;
}

int
sweep_ranks_serve(const sweep *s, int jobs, h4h_err *err)
{
	return jobs > 1 ? relay(s, jobs, err) : serve(s, 0, -1, err);
}

/* ---- rank 0 ----------------------------------------------------------------- */

typedef struct coord {
	const sweep *s;
	h4h_db *db;
	int jobs;		/* batches a rank may hold at once */
	int failed;
	int remote;		/* points the other ranks simulated */
	int batches;		/* results merged */
	int *owner;		/* per point: the rank that holds it, or 0 */
	int *inflight;		/* per rank: its batches in flight, */
	uint64_t *workers;	/* the workers that sent a result, */
	int *stopped;		/* whether it was told to stop */
	int max_batch;		/* batch_max() */
	double cpu_s;		/* rank 0's CPU time in claims and merges */
} coord;

static void
point_failed(coord *c, int point, const char *why, h4h_err *err, int *rc)
{
	c->failed++;
	fprintf(stderr, "h4h: sweep: point %d (%s): %s\n", point,
	    c->s->params[point], why);
	if (*rc == 0)
		*rc = h4h_db_run_fail(c->db, c->s->sweep_id, point, why, err);
}

/* A batch's result from rank `from`: its rows merged in one transaction,
 * then its points' runs marked in another (a kill between them leaves
 * the rows, and the points are run again, found at once). */
static int
take_result(coord *c, int from, const unsigned char *msg, size_t n,
    h4h_err *err)
{
	const sweep *s = c->s;
	int worker, count, good = 0, rc = 0, mrc = 0, gpt[MAX_BATCH];
	int64_t sys[MAX_BATCH], net[MAX_BATCH];
	size_t at = 8;
	char label[64];
	h4h_err perr = { "" };

	if (n < 8)
		return h4h_errf(err, H4H_EIO, "rank %d sent a result of %zu "
		    "bytes", from, n);
	worker = (int)h4h_le_get32(msg);
	count = (int)(int32_t)h4h_le_get32(msg + 4);
	if (count < 1 || count > MAX_BATCH || worker < 0 || worker >= c->jobs)
		return h4h_errf(err, H4H_EIO, "rank %d sent a result of %d "
		    "points from worker %d", from, count, worker);
	/* Checked whole before anything is written. */
	for (int i = 0; i < count; i++) {
		int point, wn;

		if (n - at < 12)
			return h4h_errf(err, H4H_EIO, "rank %d sent a short "
			    "result", from);
		point = (int)(int32_t)h4h_le_get32(msg + at);
		wn = (int)h4h_le_get32(msg + at + 8);
		if (point < 0 || point >= s->n_points ||
		    c->owner[point] != from)
			return h4h_errf(err, H4H_EIO, "rank %d sent point %d, "
			    "which it does not hold", from, point);
		if (wn < 0 || (size_t)wn > n - at - 12)
			return h4h_errf(err, H4H_EIO, "rank %d sent a short "
			    "result", from);
		if (h4h_le_get32(msg + at + 4) != 0)
			gpt[good++] = point;
		at += 12 + (size_t)wn;
	}
	c->inflight[from]--;
	c->workers[from] |= (uint64_t)1 << worker;
	c->batches++;
	snprintf(label, sizeof label, "rank %d, %d point%s from %d", from,
	    count, count == 1 ? "" : "s", (int)h4h_le_get32(msg + 8));
	if (good > 0) {
		mrc = h4h_db_merge_image(c->db, msg + at, n - at, label, NULL,
		    &perr);
		for (int k = 0; mrc == 0 && k < good; k++)
			mrc = sweep_point_ids(c->db, s, gpt[k], &sys[k], &net[k],
			    &perr);
		if (mrc == 0)
			mrc = h4h_db_runs_finish(c->db, s->sweep_id, good, gpt,
			    sys, net, &perr);
		if (mrc == H4H_EIO)
			return h4h_errf(err, mrc, "%s", perr.msg);
		if (mrc == 0)
			c->remote += good;
	}
	for (int i = 0, off = 8; i < count; i++) {
		int point = (int)(int32_t)h4h_le_get32(msg + off);
		int pok = (int)h4h_le_get32(msg + off + 4);
		int wn = (int)h4h_le_get32(msg + off + 8);
		char text[1024];

		c->owner[point] = 0;
		if (!pok) {
			snprintf(text, sizeof text, "rank %d: %.*s", from,
			    wn < 900 ? wn : 900, (const char *)msg + off + 12);
			point_failed(c, point, text, err, &rc);
		} else if (mrc != 0)
			point_failed(c, point, perr.msg, err, &rc);
		off += 12 + wn;
	}
	return rc;
}

/* Fills every rank's free slots with a batch each, or tells a rank with
 * none in flight to stop when no point is left; how many ranks still
 * run.  A batch is a quarter of the points left per worker (at most
 * MAX_BATCH), so the last points are shared out one at a time. */
static int
dispatch(coord *c, h4h_err *err)
{
	int running = 0, rc, done, nfail, total, left, size, want = 0;

	for (int r = 1; r < cli_ranks(); r++) {
		want |= !c->stopped[r] && c->inflight[r] < c->jobs;
		running += !c->stopped[r];
	}
	if (!want)
		return running;
	running = 0;
	if ((rc = h4h_db_sweep_progress(c->db, c->s->sweep_id, &done, &nfail,
	    &total, err)) != 0)
		return rc;
	left = total - done - nfail;
	size = left / (4 * cli_ranks() * c->jobs);
	size = size < 1 ? 1 : size > c->max_batch ? c->max_batch : size;
	for (int r = 1; r < cli_ranks(); r++) {
		while (!c->stopped[r] && c->inflight[r] < c->jobs) {
			int points[MAX_BATCH], n;

			if ((rc = h4h_db_run_claim_batch(c->db, c->s->sweep_id,
			    size, points, &n, err)) != 0)
				return rc;
			if (n == 0 && c->inflight[r] > 0)
				break;
			if ((rc = send_points(r, points, n, err)) != 0)
				return rc;
			if (n == 0) {
				c->stopped[r] = 1;
				break;
			}
			for (int i = 0; i < n; i++)
				c->owner[points[i]] = r;
			c->inflight[r]++;
		}
		running += !c->stopped[r];
	}
	return running;
}

int
sweep_ranks_coordinate(const sweep *s, int jobs, int quiet, h4h_err *err)
{
	coord c = { 0 };
	int pids[MAX_LOCAL], live, rc, running = 1, done, nfail, total, used = 0;
	double t0 = now_s(), shown = 0;
	struct timespec nap = { 0, 200000 };

	if (jobs > MAX_LOCAL)
		jobs = MAX_LOCAL;
	live = jobs;
	c.s = s;
	c.jobs = jobs;
	c.max_batch = batch_max();
	/* The local workers first: a child must not inherit the handle. */
	if ((rc = sweep_fork_jobs(s, jobs, pids, err)) != 0) {
		sweep_ranks_release();
		return rc;
	}
	if ((rc = h4h_db_open(s->db_path, 0, &c.db, err)) != 0) {
		sweep_ranks_release();
		return rc;
	}
	c.owner = h4h_xcalloc((size_t)s->n_points, sizeof *c.owner);
	c.inflight = h4h_xcalloc((size_t)cli_ranks(), sizeof *c.inflight);
	c.workers = h4h_xcalloc((size_t)cli_ranks(), sizeof *c.workers);
	c.stopped = h4h_xcalloc((size_t)cli_ranks(), sizeof *c.stopped);
	while (running > 0 || live > 0) {
		int status, pend;
		pid_t pid;

		double t = cpu_s();

		if (running > 0 && (running = dispatch(&c, err)) < 0) {
			rc = running;
			break;
		}
		c.cpu_s += cpu_s() - t;
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

			t = cpu_s();
			if ((rc = cli_ranks_recv(-1, TAG_RESULT, &from, NULL,
			    &msg, &n, err)) == 0)
				rc = take_result(&c, from, msg, n, err);
			c.cpu_s += cpu_s() - t;
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
		/* Stop the ranks with nothing in flight; those that run a
		 * batch end with the launcher. */
		for (int r = 1; r < cli_ranks(); r++)
			if (!c.stopped[r] && c.inflight[r] == 0)
				send_points(r, NULL, 0, &(h4h_err){ "" });
		while (live > 0 && waitpid(-1, NULL, 0) > 0)
			live--;
	}
	for (int r = 1; r < cli_ranks(); r++)
		for (int j = 0; j < jobs; j++)
			used += (c.workers[r] >> j) & 1;
	if (!quiet && rc == 0) {
		cli_progress_end();
		fprintf(stderr, "h4h: sweep: ranks 1-%d simulated %d point%s in "
		    "%d batch%s (%d of their %d workers took part; rank 0 "
		    "spent %.2f s of CPU handing out and merging), rank 0's "
		    "%d local worker%s the rest\n", cli_ranks() - 1, c.remote,
		    c.remote == 1 ? "" : "s", c.batches,
		    c.batches == 1 ? "" : "es", used, (cli_ranks() - 1) * jobs,
		    c.cpu_s, jobs, jobs == 1 ? "" : "s");
	}
	cli_db_bad_rows("sweep", c.db);
	h4h_db_close(c.db);
	free(c.owner);
	free(c.inflight);
	free(c.workers);
	free(c.stopped);
	return rc != 0 ? rc : c.failed;
}
