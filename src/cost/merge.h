/*
 * merge.h - merging cost databases: the shards of `h4h sweep --shard K/N`
 * into one file (`h4h db merge`), and the rows an MPI rank simulated into
 * rank 0's database (doc/scale.md, doc/database.md "Merging").
 *
 * Rows are matched by their identity (a system's canonical text, a layer's
 * key, a network's hash and body, a cost's system, layer or network and
 * split, a sweep's arguments and point, ...), never by their integer ids:
 * each file numbers its rows itself, so ids are remapped through the
 * identities.  A row whose identity the destination already holds must
 * hold the same values, labels aside (names, times): two values for one
 * key is an H4H_EINPUT error naming the table, the key and the column.
 * A run of a sweep is the one row that may differ: 'done' wins over any
 * other status.
 */
#ifndef H4H_COST_MERGE_H
#define H4H_COST_MERGE_H

#include <stddef.h>

#include "core/err.h"
#include "cost/db.h"

typedef struct h4h_merge_stats {
	long long added;	/* rows inserted */
	long long same;		/* rows the destination already held */
	long long advanced;	/* runs that became 'done' */
} h4h_merge_stats;

/* Merges the databases in[0..n_in) into out, which is created if missing.
 * Atomic: the result is built in a new file beside out ("OUT.tmpXXXXXX",
 * a copy of out when it exists), checked (PRAGMA integrity_check and
 * foreign_key_check) and renamed over out; on any error out is as it was
 * and the temporary file is removed.  Inputs are opened read-only and
 * never written.  out must be a regular file that is an h4h database, or
 * missing. */
int h4h_db_merge_files(const char *out, const char *const *in, int n_in,
    h4h_merge_stats *stats, h4h_err *err);

/* The file's rows as an SQLite image (sqlite3_serialize), with what is
 * pending flushed first, for another process to merge with
 * h4h_db_merge_image; *buf is freed with free().  With clear, the rows no
 * other row refers to (costs, candidates, accuracies) are deleted from the
 * file afterwards, so the next image holds only what is new; the handle's
 * in-memory memo keeps serving them, so nothing is simulated again.  Only
 * for a private scratch file. */
int h4h_db_image_take(h4h_db *db, int clear, void **buf, size_t *n,
    h4h_err *err);

/* Merges an image into db in one transaction; label names it in
 * messages. */
int h4h_db_merge_image(h4h_db *db, const void *buf, size_t n,
    const char *label, h4h_merge_stats *stats, h4h_err *err);

#endif
