/*
 * memo.h - the cost database as the engine's memo (sim_cache, sim.h):
 * per-layer candidates and costs of one system, and a preload of them.
 */
#ifndef H4H_COST_MEMO_H
#define H4H_COST_MEMO_H

#include <stdint.h>

#include "core/err.h"
#include "cost/db.h"
#include "sim/sim.h"

/* A memo for sim_engine_run bound to one system (sim.h) whose profile is
 * p (copied: stored candidate lists are laid out from it).  Lookups hit an
 * in-memory table first, then the database; puts are kept in memory until
 * h4h_db_flush.  The cache stays valid until h4h_db_close. */
int h4h_db_cache(h4h_db *db, int64_t system_id, const sim_profile *p,
    sim_cache *out, h4h_err *err);

/* How many stored rows this handle found invalid (a candidate list that
 * cannot be its system's, a blob of the wrong length, a cost that is not
 * finite and >= 0) and ignored as cache misses; *first is the first one's
 * message (NULL when none), for the CLI to report once. */
int h4h_db_bad_rows(const h4h_db *db, const char **first);

/* Read every stored layer, candidate list and layer cost of one system
 * into memory at once (one scan instead of a lookup per layer): for a
 * process about to cost many networks, such as the search. */
int h4h_db_preload(h4h_db *db, int64_t system_id, h4h_err *err);

#endif
