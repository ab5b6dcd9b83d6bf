/*
 * trainlog.h - the epoch log of a supernet training run in the cost
 * database (tables train_runs and train_epochs, doc/database.md).
 *
 * A run is identified by its space, recipe, seed and full settings text
 * (the checkpoint's metadata), so a resumed run appends to the same run and
 * an epoch logged twice (a run killed after logging, then resumed from an
 * older checkpoint) replaces its row: the log never holds duplicates.
 */
#ifndef H4H_NAS_TRAINLOG_H
#define H4H_NAS_TRAINLOG_H

#include <stdint.h>

#include "core/err.h"
#include "nas/sntrain.h"

#define NAS_TRAINLOG_CSV_HEADER "recipe,phase,epoch,step,train_loss," \
	"train_acc,kd_loss,max_val_acc,min_val_acc,seconds,img_per_s,step_ms"

typedef struct nas_trainlog nas_trainlog;

int nas_trainlog_open(const char *db_path, const char *space,
    const char *recipe, uint64_t seed, const char *settings,
    nas_trainlog **out, h4h_err *err);
int nas_trainlog_epoch(nas_trainlog *t, const nas_epoch_report *e,
    h4h_err *err);
void nas_trainlog_close(nas_trainlog *t);

#endif
