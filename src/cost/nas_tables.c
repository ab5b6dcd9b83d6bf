/*
 * nas_tables.c - the NAS's tables in the cost database: supernet training
 * logs (train_runs, train_epochs; nas/trainlog.c) and the search's subnet
 * accuracy cache (subnet_accuracy; nas/fitness.c).
 *
 * They live with the store rather than in src/nas because the schema is
 * one versioned whole (schema.c migrates these tables with the others and
 * `h4h db export` names them), and their writes need the store's
 * transactions and its disk-full and read-only messages; the NAS sees
 * them only through cost/nas_tables.h.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "cost/dbInt.h"

/* ---- supernet training logs (schema v2) ----------------------------------- */

int
h4h_db_train_run(h4h_db *db, const char *space, const char *recipe,
    uint64_t seed, const char *settings, int64_t *run, h4h_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db->readonly)
		return db_readonly_err(db, err);
	if ((rc = db_tx_begin(db, err)) != 0)
		return rc;
	if (sqlite3_prepare_v2(db->s, "INSERT INTO train_runs (space, recipe, "
	    "seed, settings) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	    -1, &st, NULL) != SQLITE_OK)
		return db_tx_end(db, db_write_err(db, err), err);
	sqlite3_bind_text(st, 1, space, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, recipe, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)seed);
	sqlite3_bind_text(st, 4, settings, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_write_err(db, err);
	sqlite3_finalize(st);
	st = NULL;
	if (rc == 0 && sqlite3_prepare_v2(db->s, "SELECT id FROM train_runs "
	    "WHERE space = ?1 AND recipe = ?2 AND seed = ?3 AND settings = ?4",
	    -1, &st, NULL) != SQLITE_OK)
		rc = db_read_err(db, err);
	if (rc == 0) {
		sqlite3_bind_text(st, 1, space, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, recipe, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)seed);
		sqlite3_bind_text(st, 4, settings, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			*run = sqlite3_column_int64(st, 0);
		else
			rc = db_read_err(db, err);
	}
	sqlite3_finalize(st);
	return db_tx_end(db, rc, err);
}

int
h4h_db_train_epoch(h4h_db *db, int64_t run, const h4h_db_train_row *r,
    h4h_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db->readonly)
		return db_readonly_err(db, err);
	if ((rc = db_tx_begin(db, err)) != 0)
		return rc;
	if (sqlite3_prepare_v2(db->s, "INSERT OR REPLACE INTO train_epochs "
	    "(run_id, phase, epoch, step, train_loss, train_acc, kd_loss, "
	    "max_val_acc, min_val_acc, seconds, img_per_s) VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", -1, &st, NULL) != SQLITE_OK)
		return db_tx_end(db, db_write_err(db, err), err);
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int(st, 2, r->phase);
	sqlite3_bind_int(st, 3, r->epoch);
	sqlite3_bind_int64(st, 4, r->step);
	sqlite3_bind_double(st, 5, r->train_loss);
	sqlite3_bind_double(st, 6, r->train_acc);
	sqlite3_bind_double(st, 7, r->kd_loss);
	if (r->max_val_acc >= 0)
		sqlite3_bind_double(st, 8, r->max_val_acc);
	if (r->min_val_acc >= 0)
		sqlite3_bind_double(st, 9, r->min_val_acc);
	sqlite3_bind_double(st, 10, r->seconds);
	sqlite3_bind_double(st, 11, r->img_per_s);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_write_err(db, err);
	sqlite3_finalize(st);
	return db_tx_end(db, rc, err);
}

/* ---- subnet accuracy (version 4) --------------------------------------- */

int
h4h_db_acc_load(h4h_db *db, const char *supernet, const char *split,
    const char *settings, h4h_db_acc_fn fn, void *ctx, h4h_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, step;

	if (sqlite3_prepare_v2(db->s, "SELECT gene, accuracy FROM "
	    "subnet_accuracy WHERE supernet = ?1 AND split = ?2 AND "
	    "settings = ?3", -1, &st, NULL) != SQLITE_OK)
		return db_read_err(db, err);
	sqlite3_bind_text(st, 1, supernet, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, split, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, settings, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *what = db_column_not_number(st, 1);
		const char *gene = (const char *)sqlite3_column_text(st, 0);
		double acc = what == NULL ? sqlite3_column_double(st, 1) : 0;

		/* A row a foreign writer left malformed is not trusted: a
		 * miss (the subnet is evaluated again), with one warning. */
		if (gene == NULL || what != NULL || !(acc >= 0 && acc <= 1)) {
			char v[32];

			if (what == NULL)
				snprintf(v, sizeof v, "%g", acc);
			db_bad_row(db, "'%s': subnet_accuracy of supernet %s, "
			    "gene '%.64s': accuracy is %s", db->path, supernet,
			    gene != NULL ? gene : "(NULL)",
			    what != NULL ? what : v);
			continue;
		}
		if (fn(ctx, gene, acc) != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_read_err(db, err);
	sqlite3_finalize(st);
	return rc;
}

int
h4h_db_acc_put(h4h_db *db, const char *supernet, const char *split,
    const char *settings, int n, const h4h_db_acc_row *rows, h4h_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (n == 0)
		return 0;
	if (db->readonly)
		return db_readonly_err(db, err);
	if ((rc = db_tx_begin(db, err)) != 0)
		return rc;
	if (sqlite3_prepare_v2(db->s, "INSERT OR REPLACE INTO subnet_accuracy "
	    "(supernet, gene, split, settings, accuracy, seconds) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6)", -1, &st, NULL) != SQLITE_OK)
		return db_tx_end(db, db_write_err(db, err), err);
	for (int i = 0; i < n && rc == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, supernet, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, rows[i].gene, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, split, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, settings, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 5, rows[i].accuracy);
		sqlite3_bind_double(st, 6, rows[i].seconds);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_write_err(db,
		    err);
	}
	sqlite3_finalize(st);
	return db_tx_end(db, rc, err);
}

