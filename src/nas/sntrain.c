/*
 * sntrain.c - supernet training recipes and the loop (sntrain.h).
 *
 * Checkpoint (nn/ckpt.h): "param.*", "state.*", "adam_m.*", "adam_v.*" per
 * tensor of the supernet's tables; scalars "phase" (index into the recipe's
 * phase list), "step" (within the phase), "epoch", "data_epoch",
 * "data_pos"; "log" (u8: the CSV rows so far) and "times" (f64: seconds
 * and steps per phase); the metadata text names the kind, the space, the
 * recipe and every setting a resume must agree on.
 */
#define _POSIX_C_SOURCE 200809L
#include "nas/sntrain.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/atomic.h"
#include "core/clock.h"
#include "core/hash.h"
#include "nas/recal.h"
#include "nas/sandwich.h"
#include "nas/space.h"
#include "nas/trainlog.h"
#include "nn/ckpt.h"
#include "nn/ctx.h"
#include "nn/data.h"
#include "nn/optim.h"
#include "nn/supernet.h"

#define TAG_RECAL_SET (NN_RNG_TAG_USER + 2)
#define TAG_DROPOUT (NN_RNG_TAG_USER + 3)
#define LOG_MAX (1 << 20)

static const char *const recipe_names[NAS_RECIPE_COUNT] = {
	"cnn", "vanilla", "tpi-freeze", "tpi-unfreeze",
};

const char *
nas_recipe_name(int r)
{
	return r >= 0 && r < NAS_RECIPE_COUNT ? recipe_names[r] : "?";
}

int
nas_recipe_parse(const char *name)
{
	for (int r = 0; r < NAS_RECIPE_COUNT; r++)
		if (strcmp(name, recipe_names[r]) == 0)
			return r;
	return -1;
}

void
nas_train_defaults(nas_train_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->recipe = NAS_RECIPE_VANILLA;
	c->epochs = 1;
	c->batch = 128;
	c->lr = 2e-3f;
	c->weight_decay = 0.05f;
	c->clip = 1.0f;		/* NASViT clips the global norm at 1 */
	c->smooth = 0.1f;
	c->dropout = 0.2f;
	c->dropconnect = 0.2f;
	c->n_random = 2;
	c->crop_pad = 2;
	c->hflip = 1;
	c->val = NN_FMNIST_VAL;
	c->recal_images = 2000;
	c->recal_batch = 200;
	c->seed = 1;
	c->threads = 2;
}

/* One phase of a recipe: what it samples, freezes and optimises. */
typedef struct phase {
	int number;		/* 1 or 2, as the paper counts them */
	int no_vit;		/* the CNN-only subspace */
	unsigned frozen;	/* NN_SN_G_* groups without gradients */
} phase;

static int
recipe_phases(int recipe, int have_init, phase *ph)
{
	const phase cnn = { 1, 1, NN_SN_G_VIT };
	switch (recipe) {
	case NAS_RECIPE_CNN:
		ph[0] = cnn;
		return 1;
	case NAS_RECIPE_VANILLA:
		ph[0] = (phase){ 1, 0, 0 };
		return 1;
	case NAS_RECIPE_TPI_FREEZE:
	case NAS_RECIPE_TPI_UNFREEZE: {
		phase p2 = { 2, 0, recipe == NAS_RECIPE_TPI_FREEZE ?
		    NN_SN_G_CNN : 0 };
		int n = 0;

		if (!have_init)
			ph[n++] = cnn;
		ph[n++] = p2;
		return n;
	}
	}
	return 0;
}

/* What a checkpoint must agree on to be resumed. */
static void
meta_text(const nas_train_cfg *c, const nas_space *sp, char *buf, size_t n)
{
	snprintf(buf, n, "kind=h4h-supernet space=%s recipe=%s init=%d "
	    "batch=%d lr=%.9g min_lr=%.9g wd=%.9g clip=%.9g warmup=%d "
	    "smooth=%.9g dropout=%.9g dropconnect=%.9g n_random=%d "
	    "crop_pad=%d hflip=%d val=%d recal=%d/%d eval=%d seed=%llu "
	    "epochs=%d steps=%lld", sp->name, nas_recipe_name(c->recipe),
	    c->init != NULL, c->batch, c->lr, c->min_lr, c->weight_decay,
	    c->clip, c->warmup_steps, c->smooth, c->dropout, c->dropconnect,
	    c->n_random, c->crop_pad, c->hflip, c->val, c->recal_images,
	    c->recal_batch, c->eval_images, (unsigned long long)c->seed,
	    c->epochs, (long long)c->steps);
}

/* The value of "key=" in a metadata text ("" if absent). */
static void
meta_get(const char *meta, const char *key, char *out, size_t n)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof pat, "%s=", key);
	out[0] = 0;
	for (p = meta; (p = strstr(p, pat)) != NULL; p++)
		if (p == meta || p[-1] == ' ') {
			p += strlen(pat);
			snprintf(out, n, "%.*s", (int)strcspn(p, " "), p);
			return;
		}
}

typedef struct run {
	nn_ctx *ctx;
	nas_space *sp;
	nn_sn *sn;
	nn_dataset *train;
	nn_split split;
	nn_batcher *tb;
	nas_imageset cal, val;
	nas_sandwich sw;
	float *x, *mom, *vel;
	int *y;
	int img;		/* floats per image (1 channel) */
	nn_param *opt;		/* the phase's optimizer table */
	int n_opt;
	char *log;		/* CSV rows so far */
	size_t log_len;
	double times[4];	/* seconds, steps of phases 0 and 1 */
} run;

static void
run_free(run *r)
{
	nas_sandwich_free(&r->sw);
	nas_imageset_free(&r->cal);
	nas_imageset_free(&r->val);
	nn_batcher_destroy(r->tb);
	nn_split_free(&r->split);
	nn_dataset_destroy(r->train);
	nn_sn_destroy(r->sn);
	nn_ctx_destroy(r->ctx);
	nas_space_destroy(r->sp);
	free(r->x);
	free(r->y);
	free(r->mom);
	free(r->vel);
	free(r->opt);
	free(r->log);
}

/* The optimizer table of a phase: every tensor not frozen, and no vit
 * tensor while vit blocks are never sampled. */
static void
phase_table(run *r, const phase *ph)
{
	const nn_param *pt;
	const int *grp;
	int np;
	unsigned off = ph->frozen | (ph->no_vit ? NN_SN_G_VIT : 0);

	pt = nn_sn_param_table(r->sn, &np);
	grp = nn_sn_param_groups(r->sn);
	free(r->opt);
	r->opt = h4h_xcalloc((size_t)np, sizeof *r->opt);
	r->n_opt = 0;
	for (int i = 0; i < np; i++)
		if (!(grp[i] & off))
			r->opt[r->n_opt++] = pt[i];
	nn_sn_set_frozen(r->sn, off);
	r->sw.no_vit = ph->no_vit;
}

static void
csv_write(FILE *f, const void *ctx)
{
	const run *r = ctx;

	fputs(NAS_TRAINLOG_CSV_HEADER "\n", f);
	if (r->log_len)
		fwrite(r->log, 1, r->log_len, f);
}

static int
save(const nas_train_cfg *c, run *r, const char *path, int pi, int64_t step,
    int epoch, h4h_err *err)
{
	nn_ckpt *ck = nn_ckpt_create();
	const nn_param *pt, *st;
	int np, ns, rc;
	int64_t de, dp, dims[1];
	char meta[1024];

	pt = nn_sn_param_table(r->sn, &np);
	st = nn_sn_state_table(r->sn, &ns);
	nn_batcher_tell(r->tb, &de, &dp);
	meta_text(c, r->sp, meta, sizeof meta);
	nn_ckpt_set_meta(ck, meta);
	nn_ckpt_set_progress(ck, epoch, step);
	dims[0] = (int64_t)r->log_len;
	if ((rc = nn_ckpt_add_slab(ck, "param.", nn_sn_params(r->sn), pt, np,
	    err)) == 0 &&
	    (rc = nn_ckpt_add_slab(ck, "state.", nn_sn_state(r->sn), st, ns,
	    err)) == 0 &&
	    (rc = nn_ckpt_add_slab(ck, "adam_m.", r->mom, pt, np, err)) == 0 &&
	    (rc = nn_ckpt_add_slab(ck, "adam_v.", r->vel, pt, np, err)) == 0 &&
	    (rc = nn_ckpt_add_i64(ck, "phase", pi, err)) == 0 &&
	    (rc = nn_ckpt_add_i64(ck, "step", step, err)) == 0 &&
	    (rc = nn_ckpt_add_i64(ck, "epoch", epoch, err)) == 0 &&
	    (rc = nn_ckpt_add_i64(ck, "data_epoch", de, err)) == 0 &&
	    (rc = nn_ckpt_add_i64(ck, "data_pos", dp, err)) == 0 &&
	    (rc = nn_ckpt_add(ck, "log", NN_DTYPE_U8, 1, dims,
	    r->log_len ? r->log : "", err)) == 0 &&
	    (rc = nas_ckpt_add_space(ck, r->sp, err)) == 0) {
		/* f64 is not a checkpoint dtype: the times in ms as i64 */
		int64_t td[1] = { 4 }, t[4];

		for (int i = 0; i < 4; i++)
			t[i] = (int64_t)llround(r->times[i] * 1000);
		rc = nn_ckpt_add(ck, "times_ms", NN_DTYPE_I64, 1, td, t, err);
		if (rc == 0)
			rc = nn_ckpt_write(ck, path, err);
	}
	nn_ckpt_destroy(ck);
	return rc;
}

/* Checks a checkpoint is a supernet of this space; *recipe gets its
 * recipe's name. */
static int
check_kind(const nn_ckpt *ck, const char *path, const nas_space *sp,
    char *recipe, size_t n, h4h_err *err)
{
	char kind[64], space[128];
	const char *meta = nn_ckpt_meta(ck);

	meta_get(meta, "kind", kind, sizeof kind);
	meta_get(meta, "space", space, sizeof space);
	meta_get(meta, "recipe", recipe, n);
	if (strcmp(kind, "h4h-supernet") != 0)
		return h4h_errf(err, H4H_EINPUT, "'%s': not a supernet "
		    "checkpoint (h4h supernet train writes those)", path);
	if (strcmp(space, sp->name) != 0)
		return h4h_errf(err, H4H_EINPUT, "'%s': a supernet of space "
		    "'%s', not '%s'", path, space, sp->name);
	return 0;
}

static int
restore(const nas_train_cfg *c, run *r, int *pi, int64_t *step, int *epoch,
    h4h_err *err)
{
	nn_ckpt *ck;
	const nn_param *pt, *st;
	const nn_ckpt_tensor *lg, *tm;
	int np, ns, rc;
	int64_t de, dp, v, he, hs;
	char meta[1024], recipe[64];

	if ((rc = nn_ckpt_read(c->resume, &ck, err)) != 0)
		return rc;
	if ((rc = check_kind(ck, c->resume, r->sp, recipe, sizeof recipe,
	    err)) != 0)
		goto out;
	meta_text(c, r->sp, meta, sizeof meta);
	if (strstr(nn_ckpt_meta(ck), " slim=1") != NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': a slim checkpoint (h4h "
		    "supernet slim: no optimizer state) cannot resume training",
		    c->resume);
		goto out;
	}
	if (strcmp(recipe, nas_recipe_name(c->recipe)) != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': made by recipe '%s', not "
		    "'%s'", c->resume, recipe, nas_recipe_name(c->recipe));
		goto out;
	}
	if (strcmp(nn_ckpt_meta(ck), meta) != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': made with other settings "
		    "(%s), not this run's (%s)", c->resume, nn_ckpt_meta(ck),
		    meta);
		goto out;
	}
	pt = nn_sn_param_table(r->sn, &np);
	st = nn_sn_state_table(r->sn, &ns);
	if ((rc = nn_ckpt_get_slab(ck, "param.", nn_sn_params(r->sn), pt, np,
	    err)) != 0 ||
	    (rc = nn_ckpt_get_slab(ck, "state.", nn_sn_state(r->sn), st, ns,
	    err)) != 0 ||
	    (rc = nn_ckpt_get_slab(ck, "adam_m.", r->mom, pt, np, err)) != 0 ||
	    (rc = nn_ckpt_get_slab(ck, "adam_v.", r->vel, pt, np, err)) != 0 ||
	    (rc = nn_ckpt_get_i64(ck, "phase", &v, err)) != 0)
		goto out;
	*pi = v >= 0 && v <= INT_MAX ? (int)v : -1;	/* refused by the caller */
	if ((rc = nn_ckpt_get_i64(ck, "step", step, err)) != 0 ||
	    (rc = nn_ckpt_get_i64(ck, "epoch", &v, err)) != 0 ||
	    (rc = nn_ckpt_get_i64(ck, "data_epoch", &de, err)) != 0 ||
	    (rc = nn_ckpt_get_i64(ck, "data_pos", &dp, err)) != 0 ||
	    (rc = nn_batcher_seek(r->tb, de, dp, err)) != 0)
		goto out;
	nn_ckpt_progress(ck, &he, &hs);
	if (he != v || hs != *step || v < 0 || v > INT_MAX) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': header says epoch %lld, "
		    "step %lld; the tensors say epoch %lld, step %lld",
		    c->resume, (long long)he, (long long)hs, (long long)v,
		    (long long)*step);
		goto out;
	}
	*epoch = (int)v;
	lg = nn_ckpt_find(ck, "log");
	tm = nn_ckpt_find(ck, "times_ms");
	if (lg == NULL || lg->dtype != NN_DTYPE_U8 || lg->nbytes > LOG_MAX ||
	    tm == NULL || tm->dtype != NN_DTYPE_I64 || tm->nbytes != 32) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': no training log", c->resume);
		goto out;
	}
	memcpy(r->log, lg->data, lg->nbytes);
	r->log_len = lg->nbytes;
	for (int i = 0; i < 4; i++)
		r->times[i] = ((const int64_t *)tm->data)[i] / 1000.0;
out:
	nn_ckpt_destroy(ck);
	return rc;
}

/* A checkpoint during the run (--checkpoint-every): the phase's time so
 * far goes in, as a stop would put it. */
static int
periodic(const nas_train_cfg *c, run *r, int pi, int64_t step, int epoch,
    double *t_phase, h4h_err *err)
{
	double now = h4h_now_s();

	r->times[2 * pi] += now - *t_phase;
	*t_phase = now;
	return save(c, r, c->out, pi, step, epoch, err);
}

/* Phase 1's weights from a `cnn` checkpoint. */
static int
load_init(const nas_train_cfg *c, run *r, h4h_err *err)
{
	nn_ckpt *ck;
	const nn_param *pt, *st;
	int np, ns, rc;
	char recipe[64];

	if ((rc = nn_ckpt_read(c->init, &ck, err)) != 0)
		return rc;
	if ((rc = check_kind(ck, c->init, r->sp, recipe, sizeof recipe,
	    err)) != 0)
		goto out;
	if (strcmp(recipe, "cnn") != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': --init needs a checkpoint "
		    "of recipe 'cnn' (phase 1), not '%s'", c->init, recipe);
		goto out;
	}
	pt = nn_sn_param_table(r->sn, &np);
	st = nn_sn_state_table(r->sn, &ns);
	if ((rc = nn_ckpt_get_slab(ck, "param.", nn_sn_params(r->sn), pt, np,
	    err)) == 0)
		rc = nn_ckpt_get_slab(ck, "state.", nn_sn_state(r->sn), st, ns,
		    err);
out:
	nn_ckpt_destroy(ck);
	return rc;
}

/* Validation of the max and min subnets after recalibration. */
static int
validate(run *r, int no_vit, double *max_acc, double *min_acc, h4h_err *err)
{
	nas_gene g;
	int rc, bs = r->sw.B;

	*max_acc = *min_acc = -1;
	if (r->val.n == 0)
		return 0;
	nas_gene_max(r->sp, no_vit, &g);
	if ((rc = nas_eval_gene(r->sn, r->sp, &g, &r->cal, &r->val, bs,
	    max_acc, NULL, err)) != 0)
		return rc;
	nas_gene_min(r->sp, no_vit, &g);
	return nas_eval_gene(r->sn, r->sp, &g, &r->cal, &r->val, bs, min_acc,
	    NULL, err);
}

/* The calibration set: a seeded subset of the training split. */
static int
calib_set(const nn_dataset *ds, const nn_split *split, int n, uint64_t seed,
    int hw, nas_imageset *out, h4h_err *err)
{
	nn_split cs;
	int rc;

	if (n > split->ntrain)
		return h4h_errf(err, H4H_EINPUT, "%d calibration images exceed "
		    "the %d training images", n, split->ntrain);
	if ((rc = nn_split_make(split->ntrain, n, seed ^ TAG_RECAL_SET, &cs,
	    err)) != 0)
		return rc;
	for (int i = 0; i < cs.nval; i++)
		cs.val[i] = split->train[cs.val[i]];
	rc = nas_imageset_make(ds, cs.val, cs.nval, hw, out, err);
	nn_split_free(&cs);
	return rc;
}

static int
setup(const nas_train_cfg *c, run *r, h4h_err *err)
{
	nn_sn_spec spec;
	nn_batcher_cfg bc;
	int rc, B, hw, nval;

	if ((rc = nas_space_load(c->space, &r->sp, err)) != 0)
		return rc;
	nas_space_supernet(r->sp, &spec);
	hw = spec.in_hw;
	if (spec.in_ch != 1 || spec.classes != NN_FMNIST_CLASSES)
		return h4h_errf(err, H4H_EINPUT, "space '%s': training reads "
		    "Fashion-MNIST (1 channel, 10 classes), the space has %d "
		    "channels and %d classes", c->space, spec.in_ch,
		    spec.classes);
	if (hw > 64)
		return h4h_errf(err, H4H_EINPUT, "space '%s': its largest "
		    "resolution %d is not a Fashion-MNIST proxy (28 px images; "
		    "train a proxy space such as spaces/h4h-fmnist.json)",
		    c->space, hw);
	B = c->batch > c->recal_batch ? c->batch : c->recal_batch;
	if ((rc = nn_ctx_create(c->threads, &r->ctx, err)) != 0 ||
	    (rc = nn_sn_create(r->ctx, &spec, B, c->seed, &r->sn, err)) != 0 ||
	    (rc = nn_fmnist_load(c->data_dir, "train", &r->train, err)) != 0 ||
	    (rc = nn_split_make(r->train->n, c->val, c->seed, &r->split,
	    err)) != 0)
		return rc;
	memset(&bc, 0, sizeof bc);
	bc.batch = c->batch;
	bc.out_h = bc.out_w = hw;
	bc.mean = NN_FMNIST_MEAN;
	bc.std = NN_FMNIST_STD;
	bc.shuffle = 1;
	bc.drop_last = 1;	/* every step sees a whole batch */
	bc.aug.crop_pad = c->crop_pad;
	bc.aug.hflip = c->hflip;
	bc.seed = c->seed;
	if ((rc = nn_batcher_create(r->train, r->split.train, r->split.ntrain,
	    &bc, &r->tb, err)) != 0)
		return rc;
	if ((rc = calib_set(r->train, &r->split, c->recal_images, c->seed, hw,
	    &r->cal, err)) != 0)
		return rc;
	nval = c->eval_images > 0 && c->eval_images < r->split.nval ?
	    c->eval_images : r->split.nval;
	if (nval > 0 && (rc = nas_imageset_make(r->train, r->split.val, nval,
	    hw, &r->val, err)) != 0)
		return rc;
	nas_sandwich_init(&r->sw, r->sn, r->sp, B);
	r->sw.n_random = c->n_random;
	r->sw.smooth = c->smooth;
	r->sw.dropout = c->dropout;
	r->sw.dropconnect = c->dropconnect;
	r->mom = h4h_xcalloc(nn_sn_nparams(r->sn), sizeof(float));
	r->vel = h4h_xcalloc(nn_sn_nparams(r->sn), sizeof(float));
	r->x = h4h_xcalloc((size_t)B * hw * hw, sizeof(float));
	r->img = hw * hw;
	r->y = h4h_xcalloc((size_t)B, sizeof(int));
	r->log = h4h_xcalloc(LOG_MAX, 1);
	return 0;
}

static void
log_row(run *r, const nas_train_cfg *c, const nas_epoch_report *e)
{
	char row[512];
	int n = snprintf(row, sizeof row, "%s,%d,%d,%lld,%.6f,%.6f,%.6f,%.6f,"
	    "%.6f,%.3f,%.1f,%.2f\n", nas_recipe_name(c->recipe), e->phase,
	    e->epoch, (long long)e->step, e->train_loss, e->train_acc,
	    e->kd_loss, e->max_val_acc, e->min_val_acc, e->seconds,
	    e->img_per_s, e->step_ms);

	if (n > 0 && r->log_len + (size_t)n < LOG_MAX) {
		memcpy(r->log + r->log_len, row, (size_t)n);
		r->log_len += (size_t)n;
	}
}

/* The ranks' gradient: this rank's, weighted by its share of the batch's
 * rows (the sandwich's losses are means over the rows it saw), summed
 * over the ranks in place. */
static int
dist_grad(nas_train_dist *d, float *g, size_t np, int mine, int k,
    h4h_err *err)
{
	const float w = (float)mine / (float)k;
	double t0 = h4h_now_s();
	int rc;

	for (size_t i = 0; i < np; i++)
		g[i] *= w;
	rc = d->sum(d->ctx, g, np, err);
	d->allreduce_s += h4h_now_s() - t0;
	d->allreduces++;
	d->slab = np;
	return rc;
}

/* After every step the ranks agree on stopping (*stop: any rank was
 * asked to; three doubles, microseconds), so a SIGTERM that reaches them
 * at different steps still stops them at one; and, every check_every
 * steps and at the end (hash), they compare a hash of their weights (as
 * two 32-bit halves summed over the ranks). */
static int
dist_check(nas_train_dist *d, const float *w, size_t np, int64_t step,
    int hash, int *stop, h4h_err *err)
{
	uint64_t h = hash ? h4h_hash64(w, np * sizeof *w, H4H_HASH_SEED) : 0;
	double v[3] = { (double)(h >> 32), (double)(h & 0xffffffffu), *stop };
	int rc;

	if ((rc = d->sum_d(d->ctx, v, 3, err)) != 0)
		return rc;
	if (v[0] != d->size * (double)(h >> 32) ||
	    v[1] != d->size * (double)(h & 0xffffffffu))
		return h4h_errf(err, H4H_ESIM, "rank %d: its weights differ from "
		    "the other ranks' at step %lld (hash %016llx)", d->rank,
		    (long long)step, (unsigned long long)h);
	*stop = v[2] > 0;
	return 0;
}

int
nas_train_run(const nas_train_cfg *c, const nas_train_hooks *h, int *stopped,
    nas_train_summary *sum, h4h_err *err)
{
	nas_train_dist *d = c->dist != NULL && c->dist->size > 1 ? c->dist :
	    NULL;
	int want_stop = 0;
	run r;
	phase ph[2];
	nn_adamw_cfg ac = nn_adamw_defaults(c->weight_decay);
	nas_trainlog *tl = NULL;
	int nph, pi = 0, epoch = 0, rc, per_epoch, ckpt_pending = 0;
	int64_t step = 0;
	double t_start = h4h_now_s(), t_ckpt = t_start;
	size_t np;

	memset(&r, 0, sizeof r);
	*stopped = 0;
	if (sum != NULL)
		memset(sum, 0, sizeof *sum);
	if (c->recipe < 0 || c->recipe >= NAS_RECIPE_COUNT)
		return h4h_errf(err, H4H_EINPUT, "unknown recipe");
	if (c->batch < 1 || c->batch > 4096 || (c->epochs < 1 && c->steps < 1))
		return h4h_errf(err, H4H_EINPUT, "need batch 1..4096 and epochs "
		    "or steps >= 1 (got batch %d, epochs %d, steps %lld)",
		    c->batch, c->epochs, (long long)c->steps);
	if (c->recal_batch < 1 || c->recal_images < 1 || c->n_random < 0 ||
	    c->n_random > NAS_SANDWICH_MAX - 2)
		return h4h_errf(err, H4H_EINPUT, "need recal batch and images "
		    ">= 1 and 0..%d random subnets", NAS_SANDWICH_MAX - 2);
	if (c->init != NULL && c->recipe != NAS_RECIPE_TPI_FREEZE &&
	    c->recipe != NAS_RECIPE_TPI_UNFREEZE)
		return h4h_errf(err, H4H_EINPUT, "--init is phase 1 of a "
		    "two-phase recipe (tpi-freeze, tpi-unfreeze), not of '%s'",
		    nas_recipe_name(c->recipe));
	if (d != NULL && (c->batch < d->size || d->check_every < 1))
		return h4h_errf(err, H4H_EINPUT, "batch %d on %d ranks: every "
		    "rank needs at least one image of each batch", c->batch,
		    d->size);
	if ((rc = nn_adamw_check(&ac, err)) != 0 ||
	    (rc = setup(c, &r, err)) != 0)
		goto out;
	nph = recipe_phases(c->recipe, c->init != NULL, ph);
	np = nn_sn_nparams(r.sn);
	per_epoch = nn_batcher_batches(r.tb);
	if (per_epoch < 1) {
		rc = h4h_errf(err, H4H_EINPUT, "batch %d exceeds the %d training "
		    "images", c->batch, r.split.ntrain);
		goto out;
	}
	if (c->resume != NULL) {
		if ((rc = restore(c, &r, &pi, &step, &epoch, err)) != 0)
			goto out;
		int64_t total = c->steps > 0 ? c->steps : (int64_t)c->epochs *
		    per_epoch;

		if (pi < 0 || pi >= nph) {
			rc = h4h_errf(err, H4H_EINPUT, "'%s': phase %d of a %d-phase "
			    "recipe", c->resume, pi, nph);
			goto out;
		}
		/* A checkpoint from a buggy tool must not set the run off
		 * for 2^31 steps. */
		if (step < 0 || step > total || epoch < 0 || epoch > step ||
		    epoch > (total + per_epoch - 1) / per_epoch) {
			rc = h4h_errf(err, H4H_EINPUT, "'%s': epoch %d, step %lld "
			    "of a phase of %lld steps", c->resume, epoch,
			    (long long)step, (long long)total);
			goto out;
		}
		/* Stopped after an epoch's last step, before its report: the
		 * epoch is done (its log row went with the stopped run). */
		if (step > 0 && step % per_epoch == 0 &&
		    epoch == step / per_epoch - 1)
			epoch++;
	} else if (c->init != NULL && (rc = load_init(c, &r, err)) != 0) {
		goto out;
	}
	if (c->db != NULL) {
		char meta[1024];

		meta_text(c, r.sp, meta, sizeof meta);
		if ((rc = nas_trainlog_open(c->db, r.sp->name,
		    nas_recipe_name(c->recipe), c->seed, meta, &tl, err)) != 0)
			goto out;
	}

	for (; pi < nph; pi++) {
		const phase *p = &ph[pi];
		int64_t total = c->steps > 0 ? c->steps : (int64_t)c->epochs *
		    per_epoch;
		nn_sched sc = { c->lr, c->min_lr, c->warmup_steps, total };
		double t_phase = h4h_now_s();

		if ((rc = nn_sched_check(&sc, err)) != 0)
			goto out;
		phase_table(&r, p);
		if (step == 0 && epoch == 0 && pi > 0) {
			/* phase 2 starts afresh on the phase-1 weights, exactly
			 * as a run with --init does */
			memset(r.mom, 0, np * sizeof(float));
			memset(r.vel, 0, np * sizeof(float));
			if ((rc = nn_batcher_seek(r.tb, 0, 0, err)) != 0)
				goto out;
		}
		while (step < total) {
			double t0 = h4h_now_s(), loss_sum = 0, kd_sum = 0;
			long long right = 0, seen = 0, mine_seen = 0;
			int k;

			while (step < total && (k = nn_batcher_next(r.tb, r.x,
			    r.y)) > 0) {
				nas_gene genes[NAS_SANDWICH_MAX];
				float loss, kd, lr = nn_sched_lr(&sc, step), sc1 = 1;
				int cor, ng, first = 0, mine = k;

				/* This rank's rows of the global batch. */
				if (d != NULL) {
					first = (int)((int64_t)k * d->rank /
					    d->size);
					mine = (int)((int64_t)k * (d->rank + 1) /
					    d->size) - first;
				}
				ng = nas_sandwich_genes(&r.sw, c->seed, p->number,
				    step, genes);
				/* dropout masks: a function of (seed, phase,
				 * step), so a resume needs no generator state;
				 * each rank its own stream */
				*nn_sn_rng(r.sn) = c->seed ^ nn_rng_stream(
				    TAG_DROPOUT, (uint64_t)p->number,
				    d == NULL ? (uint64_t)step : (uint64_t)step *
				    (uint64_t)d->size + (uint64_t)d->rank);
				if ((rc = nas_sandwich_grad(&r.sw, genes, ng,
				    r.x + (size_t)first * r.img, r.y + first, mine,
				    &loss, &cor, &kd, err)) != 0)
					goto out;
				if (d != NULL && (rc = dist_grad(d,
				    nn_sn_grads(r.sn), np, mine, k, err)) != 0)
					goto out;
				if (c->clip > 0)
					sc1 = nn_grad_clip_scale(nn_grad_norm(
					    nn_sn_grads(r.sn), np), c->clip);
				step++;
				nn_adamw_step(&ac, lr, step, sc1, nn_sn_params(r.sn),
				    nn_sn_grads(r.sn), r.mom, r.vel, r.opt, r.n_opt);
				loss_sum += (double)loss * mine;
				kd_sum += (double)kd * mine;
				right += cor;
				seen += k;
				mine_seen += mine;
				if (h != NULL && h->stop != NULL && d != NULL &&
				    h->stop(h->ctx))
					want_stop = 1;
				if (d != NULL && (rc = dist_check(d,
				    nn_sn_params(r.sn), np, step, step %
				    d->check_every == 0 || step == total,
				    &want_stop, err)) != 0)
					goto out;
				if (h != NULL && h->progress != NULL) {
					nas_train_progress pg;
					double el = h4h_now_s() - t0;

					pg.phase = p->number;
					pg.phases = ph[nph - 1].number;
					pg.step = step;
					pg.total_steps = total;
					pg.epoch = epoch + 1;
					pg.epochs = (int)((total + per_epoch - 1) /
					    per_epoch);
					pg.loss = (float)(loss_sum / mine_seen);
					pg.kd = (float)(kd_sum / mine_seen);
					pg.acc = (float)right / (float)mine_seen;
					pg.img_per_s = el > 0 ? seen / el : 0;
					pg.elapsed_s = h4h_now_s() - t_start;
					pg.eta_s = pg.img_per_s > 0 ? (double)
					    (total - step) * c->batch /
					    pg.img_per_s : 0;
					h->progress(h->ctx, &pg);
				}
				/* Over ranks, all stop at one checked step. */
				if (d != NULL ? want_stop :
				    h != NULL && h->stop != NULL &&
				    h->stop(h->ctx)) {
					*stopped = 1;
					r.times[2 * pi] += h4h_now_s() - t_phase;
					goto finish;
				}
				if (c->out != NULL && step < total &&
				    nn_ckpt_due(c->ckpt_every, c->ckpt_secs,
				    step, &t_ckpt)) {
					/* At an epoch's last step the epoch is
					 * reported (and logged) first. */
					if (step % per_epoch == 0)
						ckpt_pending = 1;
					else if ((rc = periodic(c, &r, pi, step,
					    epoch, &t_phase, err)) != 0)
						goto out;
				}
			}
			if (seen > 0) {
				nas_epoch_report er;
				double tv;

				/* The epoch's training figures over every
				 * rank's rows. */
				if (d != NULL) {
					double v[4] = { loss_sum, kd_sum,
					    (double)right, (double)mine_seen };

					if ((rc = d->sum_d(d->ctx, v, 4, err)) != 0)
						goto out;
					loss_sum = v[0];
					kd_sum = v[1];
					right = (long long)v[2];
					mine_seen = (long long)v[3];
				}
				er.seconds = h4h_now_s() - t0;
				er.img_per_s = seen / er.seconds;
				er.step_ms = 1000 * er.seconds / ((double)seen /
				    c->batch);
				tv = h4h_now_s();
				if ((d == NULL || d->rank == 0) &&
				    (rc = validate(&r, p->no_vit, &er.max_val_acc,
				    &er.min_val_acc, err)) != 0)
					goto out;
				if (d != NULL && d->rank > 0)
					er.max_val_acc = er.min_val_acc = -1;
				t_phase += h4h_now_s() - tv;	/* not training */
				er.phase = p->number;
				er.epoch = ++epoch;
				er.step = step;
				er.train_loss = (float)(loss_sum / mine_seen);
				er.train_acc = (float)right / (float)mine_seen;
				er.kd_loss = (float)(kd_sum / mine_seen);
				log_row(&r, c, &er);
				if (sum != NULL) {
					sum->max_val_acc = er.max_val_acc;
					sum->min_val_acc = er.min_val_acc;
				}
				if (h != NULL && h->epoch != NULL)
					h->epoch(h->ctx, &er);
				if (c->csv != NULL && (rc = h4h_write_atomic(c->csv,
				    "csv", csv_write, &r, err)) != 0)
					goto out;
				if (tl != NULL && (rc = nas_trainlog_epoch(tl, &er,
				    err)) != 0)
					goto out;
			}
			if (ckpt_pending && step < total) {
				ckpt_pending = 0;
				if ((rc = periodic(c, &r, pi, step, epoch,
				    &t_phase, err)) != 0)
					goto out;
			}
		}
		r.times[2 * pi] += h4h_now_s() - t_phase;
		r.times[2 * pi + 1] += (double)step;
		if (pi + 1 < nph) {
			step = 0;
			epoch = 0;
		}
	}
	pi = nph - 1;
finish:
	if (sum != NULL)
		for (int i = 0; i < 2; i++) {
			sum->seconds[i] = r.times[2 * i];
			sum->steps[i] = (int64_t)r.times[2 * i + 1];
			sum->step_ms[i] = sum->steps[i] > 0 ? 1000 *
			    sum->seconds[i] / (double)sum->steps[i] : 0;
		}
	if (c->out != NULL)
		rc = save(c, &r, c->out, pi, step, epoch, err);
	else if (*stopped && c->stop_out != NULL)
		rc = save(c, &r, c->stop_out, pi, step, epoch, err);
out:
	nas_trainlog_close(tl);
	run_free(&r);
	return rc;
}

/* ---- reading a supernet checkpoint back ---------------------------------- */

int
nas_ckpt_add_space(nn_ckpt *ck, const nas_space *sp, h4h_err *err)
{
	int64_t d[1];
	int rc;

	d[0] = (int64_t)strlen(sp->json);
	if ((rc = nn_ckpt_add(ck, "space_json", NN_DTYPE_U8, 1, d, sp->json,
	    err)) != 0)
		return rc;
	d[0] = (int64_t)strlen(sp->full->json);
	return nn_ckpt_add(ck, "full_space_json", NN_DTYPE_U8, 1, d,
	    sp->full->json, err);
}

static char *
tensor_text(const nn_ckpt *ck, const char *name)
{
	const nn_ckpt_tensor *t = nn_ckpt_find(ck, name);
	char *s;

	if (t == NULL || t->dtype != NN_DTYPE_U8)
		return NULL;
	s = h4h_xmalloc(t->nbytes + 1);
	memcpy(s, t->data, t->nbytes);
	s[t->nbytes] = 0;
	return s;
}

int
nas_ckpt_space(const nn_ckpt *ck, const char *path, nas_space **sp,
    h4h_err *err)
{
	char *a = tensor_text(ck, "space_json"),
	    *b = tensor_text(ck, "full_space_json");
	int rc;

	if (a == NULL || b == NULL)
		rc = h4h_errf(err, H4H_EINPUT, "'%s': no search space in the "
		    "checkpoint", path);
	else
		rc = nas_space_read(a, b, path, sp, err);
	free(a);
	free(b);
	return rc;
}

int
nas_supernet_open(const char *path, int threads, int B, nas_supernet *out,
    h4h_err *err)
{
	nn_ckpt *ck = NULL;
	nn_sn_spec spec;
	const nn_param *pt, *st;
	const char *meta;
	char v[128], kind[64];
	int np, ns, rc;

	memset(out, 0, sizeof *out);
	if ((rc = nn_ckpt_read(path, &ck, err)) != 0)
		return rc;
	meta = nn_ckpt_meta(ck);
	meta_get(meta, "kind", kind, sizeof kind);
	if (strcmp(kind, "h4h-supernet") != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': not a supernet checkpoint "
		    "(h4h supernet train writes those)", path);
		goto out;
	}
	if ((rc = nas_ckpt_space(ck, path, &out->sp, err)) != 0)
		goto out;
	meta_get(meta, "recipe", v, sizeof v);
	out->recipe = nas_recipe_parse(v);
	meta_get(meta, "seed", v, sizeof v);
	out->seed = strtoull(v, NULL, 10);
	meta_get(meta, "val", v, sizeof v);
	out->val = atoi(v);
	meta_get(meta, "recal", v, sizeof v);
	if (sscanf(v, "%d/%d", &out->recal_images, &out->recal_batch) != 2 ||
	    out->recipe < 0 || out->recal_images < 1 || out->recal_batch < 1) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': bad metadata '%s'", path,
		    meta);
		goto out;
	}
	nas_space_supernet(out->sp, &spec);
	if (B < out->recal_batch)
		B = out->recal_batch;
	if ((rc = nn_ctx_create(threads, &out->ctx, err)) != 0 ||
	    (rc = nn_sn_create(out->ctx, &spec, B, out->seed, &out->sn,
	    err)) != 0)
		goto out;
	out->B = B;
	pt = nn_sn_param_table(out->sn, &np);
	st = nn_sn_state_table(out->sn, &ns);
	if ((rc = nn_ckpt_get_slab(ck, "param.", nn_sn_params(out->sn), pt, np,
	    err)) == 0)
		rc = nn_ckpt_get_slab(ck, "state.", nn_sn_state(out->sn), st, ns,
		    err);
out:
	nn_ckpt_destroy(ck);
	if (rc != 0)
		nas_supernet_close(out);
	return rc;
}

void
nas_supernet_close(nas_supernet *s)
{
	nn_sn_destroy(s->sn);
	nn_ctx_destroy(s->ctx);
	nas_space_destroy(s->sp);
	memset(s, 0, sizeof *s);
}

int
nas_supernet_sets(const nas_supernet *s, const char *data_dir, int test,
    int n, nas_imageset *cal, nas_imageset *set, h4h_err *err)
{
	nn_dataset *train = NULL, *tst = NULL;
	nn_split split;
	int hw = s->sp->res[s->sp->n_res - 1], rc;

	memset(&split, 0, sizeof split);
	memset(cal, 0, sizeof *cal);
	if (set != NULL)
		memset(set, 0, sizeof *set);
	if ((rc = nn_fmnist_load(data_dir, "train", &train, err)) != 0 ||
	    (rc = nn_split_make(train->n, s->val, s->seed, &split, err)) != 0 ||
	    (rc = calib_set(train, &split, s->recal_images, s->seed, hw, cal,
	    err)) != 0 || set == NULL)
		goto out;
	if (test) {
		if ((rc = nn_fmnist_load(data_dir, "t10k", &tst, err)) != 0)
			goto out;
		rc = nas_imageset_make(tst, NULL, n > 0 && n < tst->n ? n :
		    tst->n, hw, set, err);
	} else if (split.nval == 0) {
		rc = h4h_errf(err, H4H_EINPUT, "the supernet was trained "
		    "without validation images (--val 0): use the test split");
	} else {
		rc = nas_imageset_make(train, split.val, n > 0 && n <
		    split.nval ? n : split.nval, hw, set, err);
	}
out:
	nn_split_free(&split);
	nn_dataset_destroy(train);
	nn_dataset_destroy(tst);
	return rc;
}

int
nas_supernet_slim(const char *in, const char *out, h4h_err *err)
{
	nn_ckpt *ck = NULL, *sl = nn_ckpt_create();
	char kind[64], *meta;
	int64_t epoch, step;
	int rc;

	if ((rc = nn_ckpt_read(in, &ck, err)) != 0)
		goto out;
	meta_get(nn_ckpt_meta(ck), "kind", kind, sizeof kind);
	if (strcmp(kind, "h4h-supernet") != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': not a supernet checkpoint "
		    "(h4h supernet train writes those)", in);
		goto out;
	}
	for (int i = 0; i < nn_ckpt_count(ck); i++) {
		const nn_ckpt_tensor *t = nn_ckpt_at(ck, i);

		if (strncmp(t->name, "adam_m.", 7) == 0 ||
		    strncmp(t->name, "adam_v.", 7) == 0)
			continue;
		if ((rc = nn_ckpt_add(sl, t->name, t->dtype, t->ndim, t->dims,
		    t->data, err)) != 0)
			goto out;
	}
	meta = h4h_xmalloc(strlen(nn_ckpt_meta(ck)) + 16);
	strcpy(meta, nn_ckpt_meta(ck));
	if (strstr(meta, " slim=1") == NULL)
		strcat(meta, " slim=1");
	nn_ckpt_set_meta(sl, meta);
	free(meta);
	nn_ckpt_progress(ck, &epoch, &step);
	nn_ckpt_set_progress(sl, epoch, step);
	rc = nn_ckpt_write(sl, out, err);
out:
	nn_ckpt_destroy(sl);
	nn_ckpt_destroy(ck);
	return rc;
}
