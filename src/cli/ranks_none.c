/*
 * ranks_none.c - ranks.h where h4h was built without MPI: one rank.
 * Started by mpirun or srun with several ranks, it says so, instead of
 * running N copies of the same command on one database.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "cli/ranks.h"

static int
env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? atoi(v) : dflt;
}

int
cli_ranks_announced(void)
{
	return env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", 1));
}

int
cli_rank_announced(void)
{
	return env_int("OMPI_COMM_WORLD_RANK", env_int("PMI_RANK", 0));
}

int
cli_ranks_start(h4h_err *err)
{
	if (cli_ranks_announced() > 1)
		return h4h_errf(err, H4H_EINPUT, "started as %d ranks, but this "
		    "h4h was built without MPI (apt-get install "
		    "libopenmpi-dev, then ./configure --with-mpi)",
		    cli_ranks_announced());
	return 0;
}

int
cli_rank(void)
{
	return 0;
}

int
cli_ranks(void)
{
	return 1;
}

int
cli_ranks_send(int to, int tag, const void *buf, size_t n, h4h_err *err)
{
	(void)to;
	(void)tag;
	(void)buf;
	(void)n;
	return h4h_errf(err, H4H_EIO, "no other rank (built without MPI)");
}

int
cli_ranks_recv(int from, int tag, int *src, int *got_tag, void **buf,
    size_t *n, h4h_err *err)
{
	(void)from;
	(void)tag;
	(void)src;
	(void)got_tag;
	*buf = NULL;
	*n = 0;
	return h4h_errf(err, H4H_EIO, "no other rank (built without MPI)");
}

int
cli_ranks_pending(int from, int tag, h4h_err *err)
{
	(void)from;
	(void)tag;
	(void)err;
	return 0;
}

int
cli_ranks_sum(double *v, size_t n, h4h_err *err)
{
	(void)v;
	(void)n;
	(void)err;
	return 0;
}

int
cli_ranks_sum_f(float *v, size_t n, h4h_err *err)
{
	(void)v;
	(void)n;
	(void)err;
	return 0;
}

int
cli_ranks_bcast(void **buf, size_t *n, h4h_err *err)
{
	(void)buf;
	(void)n;
	(void)err;
	return 0;
}

int
cli_ranks_barrier(h4h_err *err)
{
	(void)err;
	return 0;
}
