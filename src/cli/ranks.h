/*
 * ranks.h - the processes of an `mpirun -np N h4h ...` launch, behind an
 * interface that names no MPI type, so that the commands compile alike
 * with and without MPI (doc/scale.md).  ranks_mpi.c implements it on MPI
 * (the only file that includes <mpi.h>), ranks_none.c where h4h was built
 * without MPI: one rank, and nothing to send.
 *
 * MPI is initialised only when the environment says an MPI launcher
 * started the process (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK): a
 * plain `h4h ...` never loads a transport, prints nothing more and starts
 * as fast as before.  Waits poll with short sleeps instead of MPI's
 * spinning receive, so an idle rank leaves its core to the ranks that
 * simulate (this machine has two).
 */
#ifndef H4H_CLI_RANKS_H
#define H4H_CLI_RANKS_H

#include <stddef.h>

#include "core/err.h"

/* The number of ranks the launcher announced in the environment, without
 * initialising anything: 1 when not launched by mpirun or srun (or when
 * only MPI_Init can tell). */
int cli_ranks_announced(void);
/* This process's rank in the launcher's environment (0 when none). */
int cli_rank_announced(void);

/* Starts MPI if launched by mpirun or srun (MPI_Finalize runs at exit);
 * afterwards cli_rank() and cli_ranks() are this process's rank and the
 * number of ranks (0 and 1 otherwise).  H4H_EINPUT if the launcher started
 * several ranks of an h4h built without MPI. */
int cli_ranks_start(h4h_err *err);
int cli_rank(void);
int cli_ranks(void);

/* Sends n bytes to rank `to` under `tag` (blocking until the buffer may be
 * reused).  0 or H4H_EIO. */
int cli_ranks_send(int to, int tag, const void *buf, size_t n, h4h_err *err);
/* Waits for a message from `from` (-1: any rank) with `tag` (-1: any),
 * polling every millisecond or so; returns its sender, tag and bytes
 * (*buf freed with free(), NULL when empty).  0 or H4H_EIO. */
int cli_ranks_recv(int from, int tag, int *src, int *got_tag, void **buf,
    size_t *n, h4h_err *err);
/* Whether a message waits (1), none (0), or an error (H4H_EIO < 0). */
int cli_ranks_pending(int from, int tag, h4h_err *err);
/* Sum of n doubles (floats) over every rank, in place, the same on
 * each. */
int cli_ranks_sum(double *v, size_t n, h4h_err *err);
int cli_ranks_sum_f(float *v, size_t n, h4h_err *err);
/* Rank 0's n bytes at *buf to every rank: on the others *buf and *n are
 * set (*buf freed with free()). */
int cli_ranks_bcast(void **buf, size_t *n, h4h_err *err);
/* Every rank waits for the others. */
int cli_ranks_barrier(h4h_err *err);

#endif
