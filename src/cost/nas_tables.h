/*
 * nas_tables.h - the NAS's tables in the cost database: supernet training
 * logs and the search's subnet accuracy cache (doc/database.md).
 */
#ifndef H4H_COST_NAS_TABLES_H
#define H4H_COST_NAS_TABLES_H

#include <stdint.h>

#include "core/err.h"
#include "cost/db.h"

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
