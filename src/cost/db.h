/*
 * db.h - the cost database: every simulated result stored once in SQLite,
 * found again instantly (doc/database.md has the schema).
 *
 * Identity is canonical text (canon.h): a system is its profile's values
 * (not its file or name), a layer its key, a network its layer list.  A
 * split's simulated cost is stored per (system, layer, split) and serves
 * every objective; candidate lists (the partitioner's estimates) per
 * (system, layer).  Network costs are stored per (system, network,
 * objective).  Sweeps and their runs record what was asked and what is
 * done, so an interrupted sweep resumes without duplicates.
 *
 * Reliability: WAL journal, a busy timeout, prepared statements reused,
 * writes batched in one BEGIN IMMEDIATE transaction per flush, so a crash
 * leaves either all of a batch or none of it.  PRAGMA application_id marks
 * the file as h4h's and PRAGMA user_version is the schema version: an older
 * schema is migrated forward, a newer one refused; a file that is not an
 * SQLite database (or is another program's) is refused and never written.
 *
 * Not thread-safe: one h4h_db per thread; several processes may share a
 * file.  Errors stick to the handle: a cache callback that fails (they
 * return no status) makes the next flush fail with its message.
 */
#ifndef H4H_SIM_DB_H
#define H4H_SIM_DB_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "sim/spec/net.h"
#include "sim/spec/profile.h"
#include "sim/sim.h"

#define H4H_DB_SCHEMA_VERSION 4
#define H4H_DB_APPLICATION_ID 0x48344831	/* "H4H1" */

enum {
	H4H_DB_CREATE = 1,	/* create the file if missing */
	H4H_DB_READONLY = 2,	/* open read-only (query, export, plot) */
};

typedef struct h4h_db h4h_db;

int h4h_db_open(const char *path, int flags, h4h_db **out, h4h_err *err);
void h4h_db_close(h4h_db *db);
const char *h4h_db_path(const h4h_db *db);

/* Insert-or-get by canonical text. */
int h4h_db_system(h4h_db *db, const sim_profile *p, int64_t *id,
    h4h_err *err);
/* source: "net" or "arch"; arch_json: the architecture's canonical JSON
 * (NULL for a layer list). */
int h4h_db_network(h4h_db *db, const sim_net *net, const char *source,
    const char *arch_json, int64_t *id, h4h_err *err);

/* A memo for sim_engine_run bound to one system (sim.h).  Lookups hit an
 * in-memory table first, then the database; puts are kept in memory until
 * h4h_db_flush.  The cache stays valid until h4h_db_close. */
int h4h_db_cache(h4h_db *db, int64_t system_id, sim_cache *out,
    h4h_err *err);

/* How many stored rows this handle found invalid (a candidate list that
 * cannot be its system's, a blob of the wrong length, a cost that is not
 * finite and >= 0) and ignored as cache misses; *first is the first one's
 * message (NULL when none), for the CLI to report once. */
int h4h_db_bad_rows(const h4h_db *db, const char **first);

/* Read every stored layer, candidate list and layer cost of one system
 * into memory at once (one scan instead of a lookup per layer): for a
 * process about to cost many networks, such as the search. */
int h4h_db_preload(h4h_db *db, int64_t system_id, h4h_err *err);

/* Network costs (kept in memory until flushed, like the layer costs). */
int h4h_db_net_cost_get(h4h_db *db, int64_t system_id, int64_t network_id,
    sim_objective obj, double *latency_s, double *energy_j, int *found,
    h4h_err *err);
int h4h_db_net_cost_put(h4h_db *db, int64_t system_id, int64_t network_id,
    const sim_result *r, h4h_err *err);

/* The same for a network identified by its layer list, for the search
 * loop: after h4h_db_preload a network the file has no cost for is known
 * new without a query, and a new network's row is written with its cost at
 * the next flush instead of at once. */
int h4h_db_net_cost_find(h4h_db *db, int64_t system_id, const sim_net *net,
    sim_objective obj, double *latency_s, double *energy_j, int *found,
    h4h_err *err);
int h4h_db_net_cost_put_net(h4h_db *db, int64_t system_id, const sim_net *net,
    const char *source, const char *arch_json, const sim_result *r,
    h4h_err *err);

/* Write everything pending in one transaction. */
int h4h_db_flush(h4h_db *db, h4h_err *err);

/* Sweeps.  A sweep is identified by the canonical text of its arguments:
 * beginning the same sweep again returns its id (created = 0) and its runs
 * as they were. */
int h4h_db_sweep_begin(h4h_db *db, const char *args, int n_points,
    const char *const *point_params, int64_t *sweep_id, int *created,
    h4h_err *err);
/* Claim the next point to run: a pending one, or one left 'running' by a
 * process that no longer exists.  *point = -1 when none is left. */
int h4h_db_run_claim(h4h_db *db, int64_t sweep_id, int *point, h4h_err *err);
/* Everything pending (layer costs, candidates, network cost) and the run's
 * status 'done' in one transaction. */
int h4h_db_run_finish(h4h_db *db, int64_t sweep_id, int point,
    int64_t system_id, int64_t network_id, h4h_err *err);
int h4h_db_run_fail(h4h_db *db, int64_t sweep_id, int point,
    const char *message, h4h_err *err);
int h4h_db_sweep_progress(h4h_db *db, int64_t sweep_id, int *done,
    int *failed, int *total, h4h_err *err);
int h4h_db_sweep_end(h4h_db *db, int64_t sweep_id, h4h_err *err);

/* Read-only SQL: every row of `sql` (which must not write: a writing
 * statement is H4H_EINPUT) handed to fn with its column names and text
 * values (NULL for SQL NULL).  fn returns nonzero to stop. */
typedef int (*h4h_db_row_fn)(void *ctx, int ncol, const char *const *names,
    const char *const *values);
int h4h_db_select(h4h_db *db, const char *sql, h4h_db_row_fn fn, void *ctx,
    h4h_err *err);

/* `h4h db` reports. */
int h4h_db_summary(h4h_db *db, FILE *f, h4h_err *err);
/* what: "sweep:ID", "network:ID" (its costs on every system) or
 * "table:NAME"; format: "csv" or "json". */
int h4h_db_export(h4h_db *db, const char *what, const char *format, FILE *f,
    h4h_err *err);

/* Supernet training logs (tables train_runs, train_epochs; nas/trainlog.h):
 * the run of these settings (created if new), and one epoch's row
 * (replacing a row of the same run, phase and epoch). */
typedef struct h4h_db_train_row {
	int phase, epoch;
	int64_t step;
	double train_loss, train_acc, kd_loss;
	double max_val_acc, min_val_acc;	/* < 0: not measured (NULL) */
	double seconds, img_per_s;
} h4h_db_train_row;
int h4h_db_train_run(h4h_db *db, const char *space, const char *recipe,
    uint64_t seed, const char *settings, int64_t *run, h4h_err *err);
int h4h_db_train_epoch(h4h_db *db, int64_t run, const h4h_db_train_row *row,
    h4h_err *err);

/* The search's accuracy cache (table subnet_accuracy): supernet is the
 * checkpoint's content hash, gene the canonical gene text, settings the
 * evaluation settings' text.  load hands every stored (gene, accuracy) of
 * one (supernet, split, settings) to fn (nonzero stops); put stores n rows
 * in one transaction, replacing rows of the same key. */
typedef int (*h4h_db_acc_fn)(void *ctx, const char *gene, double accuracy);
typedef struct h4h_db_acc_row {
	const char *gene;
	double accuracy;	/* in [0, 1] */
	double seconds;		/* evaluation time */
} h4h_db_acc_row;
int h4h_db_acc_load(h4h_db *db, const char *supernet, const char *split,
    const char *settings, h4h_db_acc_fn fn, void *ctx, h4h_err *err);
int h4h_db_acc_put(h4h_db *db, const char *supernet, const char *split,
    const char *settings, int n, const h4h_db_acc_row *rows, h4h_err *err);

#endif
