/*
 * query.h - reading the cost database: read-only SQL, `h4h db summary`
 * and `h4h db export`.
 */
#ifndef H4H_COST_QUERY_H
#define H4H_COST_QUERY_H

#include <stdio.h>

#include "core/err.h"
#include "cost/db.h"

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

#endif
