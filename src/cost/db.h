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
 *
 * This header opens and closes a database; what it does is in one header
 * per job: store.h (identities, network costs, flush), memo.h (the layer
 * memo for the engine), sweep.h (sweeps and runs), query.h (read-only SQL
 * and reports), nas_tables.h (the NAS's training logs and accuracies).
 */
#ifndef H4H_COST_DB_H
#define H4H_COST_DB_H

#include "core/err.h"

#define H4H_DB_SCHEMA_VERSION 6
#define H4H_DB_APPLICATION_ID 0x48344831	/* "H4H1" */

enum {
	H4H_DB_CREATE = 1,	/* create the file if missing */
	H4H_DB_READONLY = 2,	/* open read-only (query, export, plot) */
};

typedef struct h4h_db h4h_db;

int h4h_db_open(const char *path, int flags, h4h_db **out, h4h_err *err);
void h4h_db_close(h4h_db *db);
const char *h4h_db_path(const h4h_db *db);

#endif
