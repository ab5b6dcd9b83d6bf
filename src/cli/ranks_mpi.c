/*
 * ranks_mpi.c - ranks.h on MPI: the only file that includes <mpi.h>.
 *
 * Errors return (MPI_ERRORS_RETURN) instead of aborting inside MPI, so a
 * failed send is one line of ours.  Collectives are the nonblocking ones,
 * completed by wait_req, which sleeps between tests: OpenMPI's blocking
 * calls spin, and a spinning rank takes a core from the rank it waits for
 * when ranks share cores (2 ranks on this 2-core machine).  A rank that dies is reported by the
 * launcher (mpirun: "process rank N ... exited on signal 9"), which then
 * stops the others; doc/scale.md says what a rerun resumes.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "cli/ranks.h"

static int started, rank, size = 1;

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
	return env_int("OMPI_COMM_WORLD_RANK", env_int("PMI_RANK",
	    env_int("PMIX_RANK", 0)));
}

static void
finalize(void)
{
	int done = 0;

	MPI_Finalized(&done);
	if (!done)
		MPI_Finalize();
}

int
cli_ranks_start(h4h_err *err)
{
	int provided;

	(void)err;
	if (started)
		return 0;
	started = 1;
	if (getenv("OMPI_COMM_WORLD_SIZE") == NULL &&
	    getenv("PMI_SIZE") == NULL && getenv("PMIX_RANK") == NULL)
		return 0;
	if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) !=
	    MPI_SUCCESS)
		return h4h_errf(err, H4H_EIO, "MPI_Init failed");
	atexit(finalize);
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	return 0;
}

int
cli_rank(void)
{
	return rank;
}

int
cli_ranks(void)
{
	return size;
}

static int
mpi_err(h4h_err *err, const char *what, int code)
{
	char msg[MPI_MAX_ERROR_STRING];
	int len = 0;

	MPI_Error_string(code, msg, &len);
	return h4h_errf(err, H4H_EIO, "rank %d: %s: %.*s", rank, what, len,
	    msg);
}

int
cli_ranks_send(int to, int tag, const void *buf, size_t n, h4h_err *err)
{
	int rc;

	if (n > INT32_MAX)
		return h4h_errf(err, H4H_EIO, "rank %d: a message of %zu bytes "
		    "is over MPI's 2 GiB", rank, n);
	rc = MPI_Send(buf, (int)n, MPI_BYTE, to, tag, MPI_COMM_WORLD);
	return rc == MPI_SUCCESS ? 0 : mpi_err(err, "MPI_Send", rc);
}

int
cli_ranks_pending(int from, int tag, h4h_err *err)
{
	int flag = 0, rc;
	MPI_Status st;

	rc = MPI_Iprobe(from < 0 ? MPI_ANY_SOURCE : from,
	    tag < 0 ? MPI_ANY_TAG : tag, MPI_COMM_WORLD, &flag, &st);
	return rc == MPI_SUCCESS ? flag != 0 : mpi_err(err, "MPI_Iprobe", rc);
}

int
cli_ranks_recv(int from, int tag, int *src, int *got_tag, void **buf,
    size_t *n, h4h_err *err)
{
	struct timespec nap = { 0, 200000 };
	MPI_Status st;
	int flag = 0, count, rc;

	*buf = NULL;
	*n = 0;
	/* MPI_Recv would spin on the core a simulating rank needs. */
	for (;;) {
		rc = MPI_Iprobe(from < 0 ? MPI_ANY_SOURCE : from,
		    tag < 0 ? MPI_ANY_TAG : tag, MPI_COMM_WORLD, &flag, &st);
		if (rc != MPI_SUCCESS)
			return mpi_err(err, "MPI_Iprobe", rc);
		if (flag)
			break;
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 5000000)
			nap.tv_nsec += nap.tv_nsec / 4;
	}
	MPI_Get_count(&st, MPI_BYTE, &count);
	*buf = count > 0 ? h4h_xmalloc((size_t)count) : NULL;
	rc = MPI_Recv(*buf, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG,
	    MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	if (rc != MPI_SUCCESS) {
		free(*buf);
		*buf = NULL;
		return mpi_err(err, "MPI_Recv", rc);
	}
	*n = (size_t)count;
	if (src != NULL)
		*src = st.MPI_SOURCE;
	if (got_tag != NULL)
		*got_tag = st.MPI_TAG;
	return 0;
}

/* Completes a nonblocking collective without MPI's spinning wait: a rank
 * that arrives first sleeps (50 us, growing to 1 ms) instead of taking
 * the core the last rank's work needs. */
static int
wait_req(MPI_Request *req, const char *what, h4h_err *err)
{
	struct timespec nap = { 0, 50000 };
	int done = 0, rc;

	for (;;) {
		if ((rc = MPI_Test(req, &done, MPI_STATUS_IGNORE)) !=
		    MPI_SUCCESS)
			return mpi_err(err, what, rc);
		if (done)
			return 0;
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 1000000)
			nap.tv_nsec += nap.tv_nsec / 2;
	}
}

/* One in-place sum over the ranks of n values of type t. */
static int
sum_in_place(void *v, size_t n, MPI_Datatype t, h4h_err *err)
{
	MPI_Request req;
	int rc;

	if (size == 1)
		return 0;
	if (n > INT32_MAX)
		return h4h_errf(err, H4H_EIO, "rank %d: allreduce of %zu "
		    "values", rank, n);
	rc = MPI_Iallreduce(MPI_IN_PLACE, v, (int)n, t, MPI_SUM,
	    MPI_COMM_WORLD, &req);
	return rc == MPI_SUCCESS ? wait_req(&req, "MPI_Iallreduce", err) :
	    mpi_err(err, "MPI_Iallreduce", rc);
}

int
cli_ranks_sum(double *v, size_t n, h4h_err *err)
{
	return sum_in_place(v, n, MPI_DOUBLE, err);
}

int
cli_ranks_sum_f(float *v, size_t n, h4h_err *err)
{
	return sum_in_place(v, n, MPI_FLOAT, err);
}

int
cli_ranks_bcast(void **buf, size_t *n, h4h_err *err)
{
	unsigned long long len = *n;
	int rc;

	if (size == 1)
		return 0;
	rc = MPI_Bcast(&len, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
	if (rc != MPI_SUCCESS)
		return mpi_err(err, "MPI_Bcast", rc);
	if (len > INT32_MAX)
		return h4h_errf(err, H4H_EIO, "rank %d: a broadcast of %llu "
		    "bytes is over MPI's 2 GiB", rank, len);
	if (rank > 0) {
		*n = (size_t)len;
		*buf = h4h_xmalloc(len ? (size_t)len : 1);
	}
	{
		MPI_Request req;

		rc = MPI_Ibcast(*buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD,
		    &req);
		return rc == MPI_SUCCESS ? wait_req(&req, "MPI_Ibcast", err) :
		    mpi_err(err, "MPI_Ibcast", rc);
	}
}

int
cli_ranks_barrier(h4h_err *err)
{
	int rc;

	if (size == 1)
		return 0;
	{
		MPI_Request req;

		rc = MPI_Ibarrier(MPI_COMM_WORLD, &req);
		return rc == MPI_SUCCESS ? wait_req(&req, "MPI_Ibarrier", err) :
		    mpi_err(err, "MPI_Ibarrier", rc);
	}
}
