/*
 * search_ranks.c - `mpirun -np N h4h search ...` (search_out.h,
 * doc/scale.md).
 *
 * Every rank runs the whole search: the candidates, the predictor and the
 * costs are pure functions of the seed and the data, so the ranks stay in
 * step as long as they see the same cached scores.  Rank 0 therefore
 * sends its database's image to the others before the search, each keeps
 * it as a private scratch file, and every real evaluation is scored by
 * one rank and summed to all (fitness.h), so each stores the same rows.
 * Rank 0 writes the real database and outputs; the others write into
 * scratch files in $TMPDIR, removed at the end.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ranks.h"
#include "cli/search_out.h"
#include "cost/merge.h"

static int
sum_d(void *ctx, double *v, size_t n, h4h_err *err)
{
	(void)ctx;
	return cli_ranks_sum(v, n, err);
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
search_ranks_start(const char *db_path, search_ranks *sr, h4h_err *err)
{
	const char *dir = getenv("TMPDIR");
	void *img = NULL;
	size_t n = 0;
	int rc = 0, fd;

	memset(sr, 0, sizeof *sr);
	if ((rc = cli_ranks_start(err)) != 0 || cli_ranks() == 1)
		return rc;
	sr->dist.rank = cli_rank();
	sr->dist.size = cli_ranks();
	sr->dist.sum_d = sum_d;
	sr->active = 1;
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if (cli_rank() == 0) {
		h4h_db *db;

		/* Opened for writing once, so the image is of this schema. */
		if ((rc = h4h_db_open(db_path, H4H_DB_CREATE, &db, err)) == 0) {
			rc = h4h_db_image_take(db, 0, &img, &n, err);
			h4h_db_close(db);
		}
		if (rc != 0) {
			/* The others wait for an image: an empty one says
			 * rank 0 failed. */
			size_t zero = 0;

			cli_ranks_bcast(&img, &zero, &(h4h_err){ "" });
			return rc;
		}
		rc = cli_ranks_bcast(&img, &n, err);
		free(img);
		return rc;
	}
	if ((rc = cli_ranks_bcast(&img, &n, err)) != 0)
		return rc;
	if (n == 0) {
		free(img);
		return h4h_errf(err, H4H_EIO, "rank %d: rank 0 could not open "
		    "'%s'", cli_rank(), db_path);
	}
	snprintf(sr->db, sizeof sr->db, "%s/h4h-search-rank%d-XXXXXX", dir,
	    cli_rank());
	snprintf(sr->out, sizeof sr->out, "%s/h4h-search-rank%d-out-XXXXXX",
	    dir, cli_rank());
	if ((fd = mkstemp(sr->db)) < 0 || write_all(fd, img, n) != 0 ||
	    close(fd) != 0 || mkdtemp(sr->out) == NULL) {
		rc = h4h_errf(err, H4H_EIO, "rank %d: cannot write scratch "
		    "files in %s: %s", cli_rank(), dir, strerror(errno));
		free(img);
		return rc;
	}
	free(img);
	sr->scratch = 1;
	return 0;
}

int
search_ranks_prepare(search_job *job, nas_study_cfg *cfg, search_ranks *sr,
    h4h_err *err)
{
	int rc = search_ranks_start(cfg->db, sr, err);

	if (rc != 0 || !sr->active)
		return rc;
	job->dist = &sr->dist;
	if (sr->scratch) {
		job->verbose = 0;
		cfg->db = sr->db;
		job->out = sr->out;
	}
	return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
search_ranks_end(search_ranks *sr)
{
	char side[4200];

	if (!sr->scratch)
		return;
	unlink(sr->db);
	snprintf(side, sizeof side, "%s-wal", sr->db);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", sr->db);
	unlink(side);
	nftw(sr->out, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	sr->scratch = 0;
}
