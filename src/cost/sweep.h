/*
 * sweep.h - sweeps and their runs in the cost database, so an interrupted
 * sweep resumes without duplicates (doc/database.md).
 */
#ifndef H4H_COST_SWEEP_H
#define H4H_COST_SWEEP_H

#include <stdint.h>

#include "core/err.h"
#include "cost/db.h"

/* Sweeps.  A sweep is identified by the canonical text of its arguments:
 * beginning the same sweep again returns its id (created = 0) and its runs
 * as they were. */
int h4h_db_sweep_begin(h4h_db *db, const char *args, int n_points,
    const char *const *point_params, int64_t *sweep_id, int *created,
    h4h_err *err);
/* Claim the next point to run: a pending one, or one left 'running' by a
 * process that no longer exists.  *point = -1 when none is left. */
int h4h_db_run_claim(h4h_db *db, int64_t sweep_id, int *point, h4h_err *err);
/* The same among the points of one share: point % n_shares == share. */
int h4h_db_run_claim_share(h4h_db *db, int64_t sweep_id, int share,
    int n_shares, int *point, h4h_err *err);
/* Up to max points claimed as h4h_db_run_claim does, in one transaction
 * (rank 0 of an MPI sweep hands them out in batches); *n of them into
 * points[], 0 when none is left. */
int h4h_db_run_claim_batch(h4h_db *db, int64_t sweep_id, int max, int *points,
    int *n, h4h_err *err);
/* Everything pending (layer costs, candidates, network cost) and the run's
 * status 'done' in one transaction. */
int h4h_db_run_finish(h4h_db *db, int64_t sweep_id, int point,
    int64_t system_id, int64_t network_id, h4h_err *err);
/* The same for n points (each with its system and network), all in one
 * transaction. */
int h4h_db_runs_finish(h4h_db *db, int64_t sweep_id, int n, const int *points,
    const int64_t *system_ids, const int64_t *network_ids, h4h_err *err);
int h4h_db_run_fail(h4h_db *db, int64_t sweep_id, int point,
    const char *message, h4h_err *err);
int h4h_db_sweep_progress(h4h_db *db, int64_t sweep_id, int *done,
    int *failed, int *total, h4h_err *err);
int h4h_db_sweep_end(h4h_db *db, int64_t sweep_id, h4h_err *err);

#endif
