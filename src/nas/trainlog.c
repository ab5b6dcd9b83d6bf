/*
 * trainlog.c - supernet training runs in the cost database (trainlog.h).
 */
#include "nas/trainlog.h"

#include <stdlib.h>

#include "cost/db.h"
#include "cost/nas_tables.h"

struct nas_trainlog {
	h4h_db *db;
	int64_t run;
};

int
nas_trainlog_open(const char *db_path, const char *space, const char *recipe,
    uint64_t seed, const char *settings, nas_trainlog **out, h4h_err *err)
{
	nas_trainlog *t = h4h_xcalloc(1, sizeof *t);
	int rc;

	*out = NULL;
	if ((rc = h4h_db_open(db_path, H4H_DB_CREATE, &t->db, err)) != 0 ||
	    (rc = h4h_db_train_run(t->db, space, recipe, seed, settings,
	    &t->run, err)) != 0) {
		nas_trainlog_close(t);
		return rc;
	}
	*out = t;
	return 0;
}

int
nas_trainlog_epoch(nas_trainlog *t, const nas_epoch_report *e, h4h_err *err)
{
	h4h_db_train_row row = {
		.phase = e->phase, .epoch = e->epoch, .step = e->step,
		.train_loss = e->train_loss, .train_acc = e->train_acc,
		.kd_loss = e->kd_loss, .max_val_acc = e->max_val_acc,
		.min_val_acc = e->min_val_acc, .seconds = e->seconds,
		.img_per_s = e->img_per_s,
	};

	return h4h_db_train_epoch(t->db, t->run, &row, err);
}

void
nas_trainlog_close(nas_trainlog *t)
{
	if (t == NULL)
		return;
	h4h_db_close(t->db);
	free(t);
}
