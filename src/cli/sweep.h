/*
 * sweep.h - what `h4h sweep` shares between its files: the sweep (its
 * systems, networks and points), one point's simulation, the local worker
 * processes (cmd_sweep.c), and its ranks under mpirun (sweep_ranks.c).
 */
#ifndef H4H_CLI_SWEEP_H
#define H4H_CLI_SWEEP_H

#include <stdint.h>

#include "core/err.h"
#include "cost/db.h"
#include "sim/spec/net.h"
#include "sim/spec/profile.h"

#define MAX_NETS 64
#define MAX_VARY 16
#define MAX_VALUES 64
#define MAX_SETS 64
#define MAX_JOBS 64

typedef struct vary {
	char key[64];
	int n;
	char *values[MAX_VALUES];
	/* system.include: each value's file, relative to the base system's
	 * directory; NULL for other keys. */
	char *paths[MAX_VALUES];
} vary;

typedef struct sweep {
	const char *db_path;
	sim_profile base;
	const char *const *sets;	/* --set, applied again after a */
	int n_sets;			/* varied component file */
	int n_nets;
	sim_net *nets[MAX_NETS];
	int is_arch[MAX_NETS];
	char *arch_json[MAX_NETS];
	int n_vary;
	vary vary[MAX_VARY];
	int n_points;
	char **params;
	int64_t sweep_id;
	/* --shard K/N: this process runs the points with point % N == K - 1
	 * (share = K - 1); 0 and 1 without --shard. */
	int share, n_shares;
} sweep;

/* One point simulated into db (its network cost and everything it
 * needed, pending until the next flush), with its system's and network's
 * ids in db.  Nothing is marked in the sweep's runs. */
int sweep_point_sim(h4h_db *db, const sweep *s, int i, int64_t *sys_id,
    int64_t *net_id, h4h_err *err);
/* The ids of point i's system and network in db (added if missing). */
int sweep_point_ids(h4h_db *db, const sweep *s, int i, int64_t *sys_id,
    int64_t *net_id, h4h_err *err);

/* Forks `jobs` worker processes that claim points from the database;
 * their pids into pids[].  Returns 0 or H4H_ESIM. */
int sweep_fork_jobs(const sweep *s, int jobs, int *pids, h4h_err *err);

/* Under mpirun: rank 0 hands points to the other ranks and merges what
 * they simulated, beside its own --jobs workers; returns the number of
 * points or workers that failed, or a negative code.  The other ranks
 * simulate into a private scratch database and send its rows back.
 * sweep_ranks_release tells the other ranks to stop (rank 0's set-up
 * failed). */
int sweep_ranks_coordinate(const sweep *s, int jobs, int quiet,
    h4h_err *err);
int sweep_ranks_serve(const sweep *s, int jobs, h4h_err *err);
void sweep_ranks_release(void);

#endif
