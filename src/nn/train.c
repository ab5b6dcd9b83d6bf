/*
 * train.c - the training loop and checkpointed resume (see train.h).
 *
 * Checkpoint contents (ckpt.h): "param.*" and "state.*" (weights and
 * batch-norm statistics, per tensor of the model's tables), "adam_m.*" and
 * "adam_v.*", the scalars "step", "data_epoch", "data_pos", and a text
 * blob with the model name and the recipe, checked on resume.
 */
#define _POSIX_C_SOURCE 200809L
#include "nn/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "nn/ckpt.h"
#include "nn/ctx.h"
#include "nn/data.h"
#include "nn/model.h"
#include "nn/optim.h"

void
nn_train_defaults(nn_train_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->model = "ref-hybrid";
	c->epochs = 3;
	c->batch = 128;
	c->lr = 2e-3f;
	c->min_lr = 0;
	c->weight_decay = 0.05f;
	c->clip = 0;		/* off: the reference recipe does not clip */
	c->smooth = 0;
	c->warmup_steps = 0;
	c->crop_pad = 2;
	c->hflip = 1;
	c->val = NN_FMNIST_VAL;
	c->seed = 1;
	c->threads = 2;
}

/* What a checkpoint must agree on to be resumed. */
static void
recipe_text(const nn_train_cfg *c, char *buf, size_t n)
{
	snprintf(buf, n, "model=%s batch=%d lr=%.9g min_lr=%.9g wd=%.9g "
	    "clip=%.9g smooth=%.9g warmup=%d crop_pad=%d hflip=%d ra_n=%d "
	    "ra_m=%d val=%d seed=%llu epochs=%d steps=%lld", c->model,
	    c->batch, c->lr, c->min_lr, c->weight_decay, c->clip, c->smooth,
	    c->warmup_steps, c->crop_pad, c->hflip, c->ra_n, c->ra_m, c->val,
	    (unsigned long long)c->seed, c->epochs, (long long)c->steps);
}

typedef struct run {
	nn_ctx *ctx;
	nn_model *m;
	nn_dataset *train;
	nn_split split;
	nn_batcher *tb, *vb;
	float *x, *mom, *vel;
	int *y;
} run;

static void
run_free(run *r)
{
	nn_batcher_destroy(r->tb);
	nn_batcher_destroy(r->vb);
	nn_split_free(&r->split);
	nn_dataset_destroy(r->train);
	nn_model_destroy(r->m);
	nn_ctx_destroy(r->ctx);
	free(r->x);
	free(r->y);
	free(r->mom);
	free(r->vel);
}

static int
save(const nn_train_cfg *c, const char *path, run *r, int64_t step, int epoch,
    h4h_err *err)
{
	nn_ckpt *ck = nn_ckpt_create();
	const nn_param *pt, *st;
	int np, ns, rc;
	int64_t de, dp;
	char meta[512];

	pt = nn_model_param_table(r->m, &np);
	st = nn_model_state_table(r->m, &ns);
	nn_batcher_tell(r->tb, &de, &dp);
	recipe_text(c, meta, sizeof meta);
	nn_ckpt_set_meta(ck, meta);
	nn_ckpt_set_progress(ck, epoch, step);
	if ((rc = nn_ckpt_add_slab(ck, "param", nn_model_params(r->m), pt, np,
	    err)) == 0 &&
	    (rc = nn_ckpt_add_slab(ck, "state", nn_model_state(r->m), st, ns,
	    err)) == 0 &&
	    (rc = nn_ckpt_add_slab(ck, "adam_m", r->mom, pt, np, err)) == 0 &&
	    (rc = nn_ckpt_add_slab(ck, "adam_v", r->vel, pt, np, err)) == 0 &&
	    (rc = nn_ckpt_add_i64(ck, "step", step, err)) == 0 &&
	    (rc = nn_ckpt_add_i64(ck, "data_epoch", de, err)) == 0 &&
	    (rc = nn_ckpt_add_i64(ck, "data_pos", dp, err)) == 0)
		rc = nn_ckpt_write(ck, path, err);
	nn_ckpt_destroy(ck);
	return rc;
}

static int
restore(const nn_train_cfg *c, run *r, int64_t total, int epochs,
    int64_t *step, int *epoch, h4h_err *err)
{
	nn_ckpt *ck;
	const nn_param *pt, *st;
	int np, ns, rc;
	int64_t de, dp, e64, hstep, pe;
	char meta[512];

	if ((rc = nn_ckpt_read(c->resume, &ck, err)) != 0)
		return rc;
	recipe_text(c, meta, sizeof meta);
	if (strcmp(nn_ckpt_meta(ck), meta) != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': made with another model or "
		    "recipe (%s), not this run's (%s)", c->resume,
		    nn_ckpt_meta(ck), meta);
		goto out;
	}
	pt = nn_model_param_table(r->m, &np);
	st = nn_model_state_table(r->m, &ns);
	if ((rc = nn_ckpt_get_slab(ck, "param", nn_model_params(r->m), pt, np,
	    err)) != 0 ||
	    (rc = nn_ckpt_get_slab(ck, "state", nn_model_state(r->m), st, ns,
	    err)) != 0 ||
	    (rc = nn_ckpt_get_slab(ck, "adam_m", r->mom, pt, np, err)) != 0 ||
	    (rc = nn_ckpt_get_slab(ck, "adam_v", r->vel, pt, np, err)) != 0 ||
	    (rc = nn_ckpt_get_i64(ck, "step", step, err)) != 0 ||
	    (rc = nn_ckpt_get_i64(ck, "data_epoch", &de, err)) != 0 ||
	    (rc = nn_ckpt_get_i64(ck, "data_pos", &dp, err)) != 0 ||
	    (rc = nn_batcher_seek(r->tb, de, dp, err)) != 0)
		goto out;
	nn_ckpt_progress(ck, &e64, &hstep);
	/* The header must agree with the tensors and with this run: a step
	 * past the run's end or an epoch count above the steps taken is a
	 * checkpoint from a buggy tool, not one to train from. */
	if (hstep != *step || *step > total || e64 > *step ||
	    e64 > (int64_t)epochs) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': header says epoch %lld, "
		    "step %lld; tensor step is %lld, this run has %lld steps "
		    "in %d epochs", c->resume, (long long)e64,
		    (long long)hstep, (long long)*step, (long long)total,
		    epochs);
		goto out;
	}
	/* Stopped after an epoch's last step but before its report: the
	 * epoch is done (its report line went with the stopped run). */
	pe = nn_batcher_batches(r->tb);
	if (pe > 0 && *step > 0 && *step % pe == 0 && e64 == *step / pe - 1)
		e64++;
	*epoch = (int)e64;
out:
	nn_ckpt_destroy(ck);
	return rc;
}

/* Top-1 accuracy over every batch of b (inference statistics). */
static int
accuracy(nn_model *m, nn_batcher *b, float *x, int *y, double *acc,
    h4h_err *err)
{
	long long right = 0, total = 0;
	int k, c, rc;

	while ((k = nn_batcher_next(b, x, y)) > 0) {
		if ((rc = nn_model_forward(m, x, y, k, 0, 0, NULL, &c,
		    err)) != 0)
			return rc;
		right += c;
		total += k;
	}
	*acc = total ? (double)right / (double)total : 0;
	return 0;
}

int
nn_train_run(const nn_train_cfg *c, const nn_train_hooks *h, int *stopped,
    h4h_err *err)
{
	run r;
	nn_batcher_cfg bc;
	nn_adamw_cfg ac = nn_adamw_defaults(c->weight_decay);
	nn_sched sc;
	const nn_param *pt;
	int np, rc, epoch = 0, per_epoch, HW, ckpt_pending = 0;
	int64_t step = 0, total;
	size_t n;
	double t_start = h4h_now_s(), t_ckpt = t_start;
	const char *ckpt_path = c->out != NULL ? c->out : c->stop_out;

	memset(&r, 0, sizeof r);
	*stopped = 0;
	if (c->batch < 1 || (c->epochs < 1 && c->steps < 1))
		return h4h_errf(err, H4H_EINPUT, "need batch >= 1 and epochs or "
		    "steps >= 1 (got batch %d, epochs %d, steps %lld)", c->batch,
		    c->epochs, (long long)c->steps);
	if ((rc = nn_ctx_create(c->threads, &r.ctx, err)) != 0 ||
	    (rc = nn_model_create(r.ctx, c->model, c->batch, c->seed, &r.m,
	    err)) != 0 ||
	    (rc = nn_fmnist_load(c->data_dir, "train", &r.train, err)) != 0 ||
	    (rc = nn_split_make(r.train->n, c->val, c->seed, &r.split,
	    err)) != 0)
		goto out;
	HW = nn_model_in_hw(r.m);
	memset(&bc, 0, sizeof bc);
	bc.batch = c->batch;
	bc.out_h = bc.out_w = HW;
	bc.mean = NN_FMNIST_MEAN;
	bc.std = NN_FMNIST_STD;
	bc.shuffle = 1;
	bc.aug.crop_pad = c->crop_pad;
	bc.aug.hflip = c->hflip;
	bc.aug.ra_n = c->ra_n;
	bc.aug.ra_m = c->ra_m;
	bc.seed = c->seed;
	if ((rc = nn_batcher_create(r.train, r.split.train, r.split.ntrain, &bc,
	    &r.tb, err)) != 0)
		goto out;
	bc.shuffle = 0;
	memset(&bc.aug, 0, sizeof bc.aug);
	if (r.split.nval > 0 && (rc = nn_batcher_create(r.train, r.split.val,
	    r.split.nval, &bc, &r.vb, err)) != 0)
		goto out;
	n = nn_model_nparams(r.m);
	pt = nn_model_param_table(r.m, &np);
	r.mom = h4h_xcalloc(n, sizeof *r.mom);
	r.vel = h4h_xcalloc(n, sizeof *r.vel);
	r.x = h4h_xcalloc((size_t)c->batch * HW * HW, sizeof *r.x);
	r.y = h4h_xcalloc((size_t)c->batch, sizeof *r.y);
	per_epoch = nn_batcher_batches(r.tb);
	total = c->steps > 0 ? c->steps : (int64_t)c->epochs * per_epoch;
	sc = (nn_sched){ c->lr, c->min_lr, c->warmup_steps, total };
	if ((rc = nn_adamw_check(&ac, err)) != 0 ||
	    (rc = nn_sched_check(&sc, err)) != 0)
		goto out;
	if (c->resume != NULL && (rc = restore(c, &r, total,
	    per_epoch > 0 ? (int)((total + per_epoch - 1) / per_epoch) : 0,
	    &step, &epoch, err)) != 0)
		goto out;

	while (step < total) {
		double t0 = h4h_now_s(), loss_sum = 0;
		long long right = 0, seen = 0;
		int k;

		while (step < total && (k = nn_batcher_next(r.tb, r.x,
		    r.y)) > 0) {
			float loss, lr = nn_sched_lr(&sc, step), scale = 1;
			int cor;

			if ((rc = nn_model_forward(r.m, r.x, r.y, k, 1,
			    c->smooth, &loss, &cor, err)) != 0 ||
			    (rc = nn_model_backward(r.m, err)) != 0)
				goto out;
			if (c->clip > 0)
				scale = nn_grad_clip_scale(nn_grad_norm(
				    nn_model_grads(r.m), n), c->clip);
			step++;
			nn_adamw_step(&ac, lr, step, scale, nn_model_params(r.m),
			    nn_model_grads(r.m), r.mom, r.vel, pt, np);
			loss_sum += (double)loss * k;
			right += cor;
			seen += k;
			if (h != NULL && h->progress != NULL) {
				nn_train_progress p;
				double el = h4h_now_s() - t0;

				p.step = step;
				p.total_steps = total;
				p.epoch = epoch + 1;
				p.epochs = (int)((total + per_epoch - 1) /
				    per_epoch);
				p.loss = (float)(loss_sum / seen);
				p.acc = (float)right / (float)seen;
				p.img_per_s = el > 0 ? seen / el : 0;
				p.elapsed_s = h4h_now_s() - t_start;
				p.eta_s = p.img_per_s > 0 ? (double)(total -
				    step) * c->batch / p.img_per_s : 0;
				h->progress(h->ctx, &p);
			}
			if (h != NULL && h->stop != NULL && h->stop(h->ctx)) {
				*stopped = 1;
				goto finish;
			}
			if (ckpt_path != NULL && step < total &&
			    nn_ckpt_due(c->ckpt_every, c->ckpt_secs, step,
			    &t_ckpt)) {
				/* At an epoch's last step the epoch is
				 * reported (and counted) first. */
				if (step % per_epoch == 0)
					ckpt_pending = 1;
				else if ((rc = save(c, ckpt_path, &r, step,
				    epoch, err)) != 0)
					goto out;
			}
		}
		if (seen > 0) {
			nn_epoch_report er;
			double vacc = 0;

			er.seconds = h4h_now_s() - t0;
			if (r.vb != NULL && (rc = accuracy(r.m, r.vb, r.x, r.y,
			    &vacc, err)) != 0)
				goto out;
			if (r.vb == NULL)
				vacc = -1;	/* no validation set */
			er.epoch = ++epoch;
			er.train_loss = (float)(loss_sum / seen);
			er.train_acc = (float)right / (float)seen;
			er.val_acc = (float)vacc;
			er.img_per_s = seen / er.seconds;
			if (h != NULL && h->epoch != NULL)
				h->epoch(h->ctx, &er);
		}
		if (ckpt_pending && step < total) {
			ckpt_pending = 0;
			if ((rc = save(c, ckpt_path, &r, step, epoch, err)) != 0)
				goto out;
		}
	}
finish:
	if (c->out != NULL)
		rc = save(c, c->out, &r, step, epoch, err);
	else if (*stopped && c->stop_out != NULL)
		rc = save(c, c->stop_out, &r, step, epoch, err);
out:
	run_free(&r);
	return rc;
}

int
nn_eval_ckpt(const char *path, const char *data_dir, int threads,
    double *acc, char *model, size_t model_len, h4h_err *err)
{
	nn_ctx *ctx = NULL;
	nn_model *m = NULL;
	nn_dataset *test = NULL;
	nn_batcher *b = NULL;
	nn_batcher_cfg bc;
	nn_ckpt *ck = NULL;
	const nn_param *tab;
	float *x = NULL;
	int *y = NULL, n, rc, B = 250;
	const char *meta, *mp;

	if ((rc = nn_ckpt_read(path, &ck, err)) != 0)
		return rc;
	meta = nn_ckpt_meta(ck);
	mp = strstr(meta, "model=");
	if (mp == NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': no model name in the "
		    "checkpoint", path);
		goto out;
	}
	snprintf(model, model_len, "%.*s", (int)strcspn(mp + 6, " "), mp + 6);
	if ((rc = nn_ctx_create(threads, &ctx, err)) != 0 ||
	    (rc = nn_model_create(ctx, model, B, 1, &m, err)) != 0)
		goto out;
	tab = nn_model_param_table(m, &n);
	if ((rc = nn_ckpt_get_slab(ck, "param", nn_model_params(m), tab, n,
	    err)) != 0)
		goto out;
	tab = nn_model_state_table(m, &n);
	if ((rc = nn_ckpt_get_slab(ck, "state", nn_model_state(m), tab, n,
	    err)) != 0 ||
	    (rc = nn_fmnist_load(data_dir, "t10k", &test, err)) != 0)
		goto out;
	memset(&bc, 0, sizeof bc);
	bc.batch = B;
	bc.out_h = bc.out_w = nn_model_in_hw(m);
	bc.mean = NN_FMNIST_MEAN;
	bc.std = NN_FMNIST_STD;
	if ((rc = nn_batcher_create(test, NULL, test->n, &bc, &b, err)) != 0)
		goto out;
	x = h4h_xcalloc((size_t)B * bc.out_h * bc.out_w, sizeof *x);
	y = h4h_xcalloc((size_t)B, sizeof *y);
	rc = accuracy(m, b, x, y, acc, err);
out:
	free(x);
	free(y);
	nn_batcher_destroy(b);
	nn_dataset_destroy(test);
	nn_model_destroy(m);
	nn_ctx_destroy(ctx);
	nn_ckpt_destroy(ck);
	return rc;
}
