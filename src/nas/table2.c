/*
 * table2.c - reproduction of the paper's Table 2 (table2.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "nas/table2.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/clock.h"
#include "nas/gene.h"
#include "nas/recal.h"

/* The paper's Table 2 (ImageNet-1k top-1, %), for the side-by-side. */
static const struct {
	const char *recipe, *label;
	double min, max;
} paper[NAS_RECIPE_COUNT] = {
	{ "cnn", "CNN-only", 71.691, 78.802 },
	{ "vanilla", "Hybrid: Vanilla", 71.346, 79.914 },
	{ "tpi-unfreeze", "Hybrid: TPI-unfreeze", 72.140, 79.248 },
	{ "tpi-freeze", "Hybrid: TPI-freeze", 72.201, 79.782 },
};

typedef struct result {
	double min_acc, max_acc;
	long long min_macs, max_macs;
	double seconds[2], step_ms[2];
	long long steps[2];
	int have;
} result;

int
nas_table2_budget(const char *name, nas_train_cfg *c, int *test_images,
    char *describe, size_t n)
{
	if (strcmp(name, "default") == 0) {
		/* Sized for a 2-core machine (doc/results.md): each supernet
		 * phase sees every training image E times. */
		c->epochs = 3;
		c->steps = 0;
		*test_images = 0;	/* all 10,000 */
		snprintf(describe, n, "default: %d epochs per phase of the "
		    "55,000 training images (batch %d, sandwich of %d subnets, "
		    "AdamW lr %g wd %g, cosine), BN recalibration on %d images, "
		    "all 10,000 test images", c->epochs, c->batch,
		    2 + c->n_random, c->lr, c->weight_decay, c->recal_images);
		return 0;
	}
	if (strcmp(name, "long") == 0) {
		c->epochs = 6;
		c->steps = 0;
		*test_images = 0;
		snprintf(describe, n, "long: %d epochs per phase of the 55,000 "
		    "training images (batch %d, sandwich of %d subnets, AdamW lr "
		    "%g wd %g, cosine), BN recalibration on %d images, all 10,000 "
		    "test images", c->epochs, c->batch, 2 + c->n_random, c->lr,
		    c->weight_decay, c->recal_images);
		return 0;
	}
	if (strcmp(name, "smoke") == 0) {
		c->epochs = 0;
		c->steps = 4;
		c->batch = 32;
		c->recal_images = 200;
		c->recal_batch = 100;
		c->val = 500;
		c->eval_images = 200;
		*test_images = 500;
		snprintf(describe, n, "smoke: %lld steps of batch %d per phase, "
		    "BN recalibration on %d images, the first %d test images "
		    "(checks the pipeline, not accuracy)", (long long)c->steps,
		    c->batch, c->recal_images, *test_images);
		return 0;
	}
	return -1;
}

static int
mkdir_p(const char *path, h4h_err *err)
{
	if (mkdir(path, 0777) != 0 && errno != EEXIST)
		return h4h_errf(err, H4H_EIO, "cannot create directory '%s': %s",
		    path, strerror(errno));
	return 0;
}

/* One line of text (a result's JSON, the budget's name). */
static void
write_line(FILE *f, const void *ctx)
{
	const char *s = ctx;

	fputs(s, f);
	fputc('\n', f);
}

static int
save_result(const char *path, const char *recipe, uint64_t seed,
    const result *r, h4h_err *err)
{
	json_t *o = json_pack("{s:s, s:I, s:f, s:f, s:I, s:I, s:[f,f], "
	    "s:[f,f], s:[I,I]}", "recipe", recipe, "seed", (json_int_t)seed,
	    "min_acc", r->min_acc, "max_acc", r->max_acc, "min_macs",
	    (json_int_t)r->min_macs, "max_macs", (json_int_t)r->max_macs,
	    "seconds", r->seconds[0], r->seconds[1], "step_ms", r->step_ms[0],
	    r->step_ms[1], "steps", (json_int_t)r->steps[0],
	    (json_int_t)r->steps[1]);
	char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
	int rc = h4h_write_atomic(path, "result", write_line, s, err);

	free(s);
	json_decref(o);
	return rc;
}

static int
load_result(const char *path, result *r)
{
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	json_int_t a, b, c, d;
	int ok;

	if (o == NULL)
		return 0;
	ok = json_unpack(o, "{s:F, s:F, s:I, s:I, s:[F,F], s:[F,F], s:[I,I]}",
	    "min_acc", &r->min_acc, "max_acc", &r->max_acc, "min_macs", &a,
	    "max_macs", &b, "seconds", &r->seconds[0], &r->seconds[1],
	    "step_ms", &r->step_ms[0], &r->step_ms[1], "steps", &c, &d) == 0;
	json_decref(o);
	r->min_macs = a;
	r->max_macs = b;
	r->steps[0] = c;
	r->steps[1] = d;
	r->have = ok;
	return ok;
}

/* DIR/budget names the budget its runs were made under: a rerun under
 * another budget would reuse runs it did not make, so it is refused. */
static int
check_budget(const char *dir, const char *budget, h4h_err *err)
{
	char path[1100], have[64] = "";
	FILE *f;

	snprintf(path, sizeof path, "%s/budget", dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(have, sizeof have, f) == NULL)
			have[0] = 0;
		fclose(f);
		have[strcspn(have, "\n")] = 0;
		if (strcmp(have, budget) != 0)
			return h4h_errf(err, H4H_EINPUT, "'%s' holds runs of budget "
			    "'%s', not '%s': use another --out", dir, have,
			    budget);
		return 0;
	}
	return h4h_write_atomic(path, "budget", write_line, budget, err);
}

/* Min and max subnets of a trained supernet on the test images. */
static int
score(const char *ckpt, const nas_table2_cfg *c, int test_images, result *r,
    h4h_err *err)
{
	nas_supernet s;
	nas_imageset cal, test;
	nas_gene g;
	int rc, no_vit;

	if ((rc = nas_supernet_open(ckpt, c->threads, 250, &s, err)) != 0)
		return rc;
	no_vit = s.recipe == NAS_RECIPE_CNN;
	if ((rc = nas_supernet_sets(&s, c->data_dir, 1, test_images, &cal,
	    &test, err)) == 0) {
		nas_gene_min(s.sp, no_vit, &g);
		rc = nas_eval_gene(s.sn, s.sp, &g, &cal, &test, s.B,
		    &r->min_acc, &r->min_macs, err);
		nas_gene_max(s.sp, no_vit, &g);
		if (rc == 0)
			rc = nas_eval_gene(s.sn, s.sp, &g, &cal, &test, s.B,
			    &r->max_acc, &r->max_macs, err);
	}
	nas_imageset_free(&cal);
	nas_imageset_free(&test);
	nas_supernet_close(&s);
	return rc;
}

static void
mean_std(const double *v, int n, double *m, double *sd)
{
	double s = 0, q = 0;

	for (int i = 0; i < n; i++)
		s += v[i];
	*m = n ? s / n : 0;
	for (int i = 0; i < n; i++)
		q += (v[i] - *m) * (v[i] - *m);
	*sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

typedef struct report {
	const nas_table2_cfg *cfg;
	const char *budget;
	result (*res)[NAS_RECIPE_COUNT];
	double wall_s;
	char date[32];
} report;

static int
order_of(int i)		/* the paper's row order */
{
	static const int o[NAS_RECIPE_COUNT] = { NAS_RECIPE_CNN,
	    NAS_RECIPE_VANILLA, NAS_RECIPE_TPI_UNFREEZE,
	    NAS_RECIPE_TPI_FREEZE };
	return o[i];
}

static void
stats(const report *rp, int recipe, int which, double *m, double *sd)
{
	double v[NAS_TABLE2_MAX_SEEDS];

	for (int s = 0; s < rp->cfg->n_seeds; s++)
		v[s] = 100 * (which ? rp->res[s][recipe].max_acc :
		    rp->res[s][recipe].min_acc);
	mean_std(v, rp->cfg->n_seeds, m, sd);
}

static void
write_md(FILE *f, const void *ctx)
{
	const report *rp = ctx;
	const nas_table2_cfg *c = rp->cfg;
	double cm, cs, cM, cS, m, sd, M, SD;
	double vs = 0, p1 = 0, p2f = 0, vms = 0, fms = 0;
	int ns = c->n_seeds;

	fprintf(f, "Command: `%s`  \n", c->command);
	fprintf(f, "Budget: %s  \n", rp->budget);
	fprintf(f, "Seeds: ");
	for (int s = 0; s < ns; s++)
		fprintf(f, "%s%llu", s ? ", " : "",
		    (unsigned long long)c->seeds[s]);
	fprintf(f, " (mean ± sample std over seeds%s)  \n", ns < 2 ?
	    "; one seed, so no spread" : "");
	{
		double train_s = 0;

		for (int s = 0; s < ns; s++)
			for (int r = 0; r < NAS_RECIPE_COUNT; r++)
				train_s += rp->res[s][r].seconds[0] +
				    rp->res[s][r].seconds[1];
		fprintf(f, "Training time: %.0f s summed over the %d runs "
		    "(validation and scoring excluded); this invocation took "
		    "%.0f s (%s; finished runs are reused)\n\n", train_s,
		    ns * NAS_RECIPE_COUNT, rp->wall_s, rp->date);
	}
	fprintf(f, "| Model & recipe | min net, h4h (%%) | max net, h4h (%%) | "
	    "min net, paper | max net, paper |\n|---|---|---|---|---|\n");
	stats(rp, NAS_RECIPE_CNN, 0, &cm, &cs);
	stats(rp, NAS_RECIPE_CNN, 1, &cM, &cS);
	for (int i = 0; i < NAS_RECIPE_COUNT; i++) {
		int r = order_of(i);

		stats(rp, r, 0, &m, &sd);
		stats(rp, r, 1, &M, &SD);
		fprintf(f, "| %s | %.2f ± %.2f", paper[i].label, m, sd);
		if (r != NAS_RECIPE_CNN)
			fprintf(f, " (%+.2f)", m - cm);
		fprintf(f, " | %.2f ± %.2f", M, SD);
		if (r != NAS_RECIPE_CNN)
			fprintf(f, " (%+.2f)", M - cM);
		fprintf(f, " | %.3f | %.3f |\n", paper[i].min, paper[i].max);
	}
	fprintf(f, "\nParentheses: the difference to the CNN-only row, as in the "
	    "paper.  The min net is the same architecture in every row (every "
	    "ViT depth's minimum is 0); the CNN-only max net has no ViT "
	    "blocks.  MACs per image: min %lld, CNN-only max %lld, hybrid max "
	    "%lld.\n\n", rp->res[0][NAS_RECIPE_CNN].min_macs,
	    rp->res[0][NAS_RECIPE_CNN].max_macs,
	    rp->res[0][NAS_RECIPE_VANILLA].max_macs);
	fprintf(f, "Does the paper's finding hold here?\n\n");
	for (int i = 0; i < 2; i++) {
		int r = i ? NAS_RECIPE_TPI_UNFREEZE : NAS_RECIPE_TPI_FREEZE;

		stats(rp, r, 0, &m, &sd);
		fprintf(f, "- %s min net >= CNN-only min net: **%s** (%.2f vs "
		    "%.2f)\n", nas_recipe_name(r), m >= cm ? "yes" : "no", m,
		    cm);
	}
	for (int i = 0; i < 3; i++) {
		int r = i == 0 ? NAS_RECIPE_VANILLA : i == 1 ?
		    NAS_RECIPE_TPI_FREEZE : NAS_RECIPE_TPI_UNFREEZE;

		stats(rp, r, 1, &M, &SD);
		fprintf(f, "- %s max net > CNN-only max net: **%s** (%.2f vs "
		    "%.2f)\n", nas_recipe_name(r), M > cM ? "yes" : "no", M, cM);
	}
	stats(rp, NAS_RECIPE_VANILLA, 0, &m, &sd);
	fprintf(f, "- vanilla min net < CNN-only min net (the gradient "
	    "conflict): **%s** (%.2f vs %.2f)\n", m < cm ? "yes" : "no", m, cm);
	{
		double fm, fs, fM, fS, um, us, uM, uS;

		stats(rp, NAS_RECIPE_TPI_FREEZE, 0, &fm, &fs);
		stats(rp, NAS_RECIPE_TPI_FREEZE, 1, &fM, &fS);
		stats(rp, NAS_RECIPE_TPI_UNFREEZE, 0, &um, &us);
		stats(rp, NAS_RECIPE_TPI_UNFREEZE, 1, &uM, &uS);
		fprintf(f, "- tpi-freeze >= tpi-unfreeze (the paper's CNN "
		    "freezing): min net **%s** (%.2f vs %.2f), max net **%s** "
		    "(%.2f vs %.2f)\n", fm >= um ? "yes" : "no", fm, um,
		    fM >= uM ? "yes" : "no", fM, uM);
	}
	for (int s = 0; s < ns; s++) {
		vs += rp->res[s][NAS_RECIPE_VANILLA].seconds[0];
		p1 += rp->res[s][NAS_RECIPE_CNN].seconds[0];
		p2f += rp->res[s][NAS_RECIPE_TPI_FREEZE].seconds[1];
		vms += rp->res[s][NAS_RECIPE_VANILLA].step_ms[0];
		fms += rp->res[s][NAS_RECIPE_TPI_FREEZE].step_ms[1];
	}
	fprintf(f, "\nCompute (training wall time, validation excluded): "
	    "vanilla %.0f s; TPI-freeze phase 1 (the cnn run) %.0f s + phase 2 "
	    "%.0f s = %.0f s, i.e. %+.0f%% against vanilla (the paper: +42%% "
	    "GPU work).  A frozen phase-2 step takes %.0f ms, a vanilla step "
	    "%.0f ms (%.2fx).  These are wall times of runs that shared the "
	    "machine with other work, so they move with its load; "
	    "`make bench-supernet` measures the step ratio on a quiet "
	    "machine.\n", vs / ns, p1 / ns, p2f / ns, (p1 + p2f) / ns,
	    vs > 0 ? 100 * ((p1 + p2f) / vs - 1) : 0, fms / ns, vms / ns,
	    vms > 0 ? fms / vms : 0);
}

static void
write_csv(FILE *f, const void *ctx)
{
	const report *rp = ctx;

	fprintf(f, "recipe,seed,min_acc,max_acc,min_macs,max_macs,"
	    "phase1_seconds,phase2_seconds,phase1_step_ms,phase2_step_ms,"
	    "paper_min,paper_max\n");
	for (int i = 0; i < NAS_RECIPE_COUNT; i++) {
		int r = order_of(i);

		for (int s = 0; s < rp->cfg->n_seeds; s++) {
			const result *x = &rp->res[s][r];

			fprintf(f, "%s,%llu,%.6f,%.6f,%lld,%lld,%.1f,%.1f,%.2f,"
			    "%.2f,%.3f,%.3f\n", nas_recipe_name(r),
			    (unsigned long long)rp->cfg->seeds[s], x->min_acc,
			    x->max_acc, x->min_macs, x->max_macs, x->seconds[0],
			    x->seconds[1], x->step_ms[0], x->step_ms[1],
			    paper[i].min, paper[i].max);
		}
	}
}

/* The section of one budget: <!-- table2 BUDGET:begin ... --> .. end. */
static void
marks(const char *budget, char *b, size_t nb, char *e, size_t ne)
{
	snprintf(b, nb, "<!-- table2 %s:begin (h4h reproduce table2 --budget %s "
	    "writes this section) -->", budget, budget);
	snprintf(e, ne, "<!-- table2 %s:end -->", budget);
}

typedef struct splice {
	const char *head, *tail;	/* text around the section */
	size_t head_len;
	const report *rp;
	char begin[160], end[80];
} splice;

static void
write_splice(FILE *f, const void *ctx)
{
	const splice *sp = ctx;

	fwrite(sp->head, 1, sp->head_len, f);
	fprintf(f, "%s\n", sp->begin);
	write_md(f, sp->rp);
	fprintf(f, "%s", sp->end);
	fputs(sp->tail, f);
}

/* Replaces the marked section of a Markdown file (appends one if none). */
static int
splice_results(const char *path, const report *rp, h4h_err *err)
{
	FILE *f = fopen(path, "r");
	char *text = NULL, *b, *e;
	size_t n = 0, cap = 0, r;
	splice sp;
	int rc;

	if (f != NULL) {
		do {
			if (n + 4096 + 1 > cap)
				text = h4h_xrealloc(text, cap = 2 * cap + 8192);
			r = fread(text + n, 1, cap - n - 1, f);
			n += r;
		} while (r > 0);
		fclose(f);
	}
	if (text == NULL)
		text = h4h_xcalloc(1, 1);
	text[n] = 0;
	sp.rp = rp;
	marks(rp->cfg->budget, sp.begin, sizeof sp.begin, sp.end, sizeof sp.end);
	b = strstr(text, sp.begin);
	e = b != NULL ? strstr(b, sp.end) : NULL;
	if (b != NULL && e != NULL) {
		sp.head = text;
		sp.head_len = (size_t)(b - text);
		sp.tail = e + strlen(sp.end);
	} else {
		sp.head = text;
		sp.head_len = n;
		sp.tail = "\n";
	}
	rc = h4h_write_atomic(path, "results", write_splice, &sp, err);
	free(text);
	return rc;
}

/* One recipe of one seed: trains (resuming DIR/RECIPE.ckpt if a run left
 * one), scores and writes DIR/RECIPE.json. */
static int
run_one(const nas_table2_cfg *c, const nas_train_cfg *base, int r,
    uint64_t seed, const char *dir, int test_images,
    const nas_table2_hooks *h, int *stopped, result *x, h4h_err *err)
{
	nas_train_cfg tc = *base;
	nas_train_summary sum;
	char ckpt[1100], csv[1100], init[1100], path[1100];
	int rc, st;

	snprintf(path, sizeof path, "%s/%s.json", dir, nas_recipe_name(r));
	snprintf(ckpt, sizeof ckpt, "%s/%s.ckpt", dir, nas_recipe_name(r));
	snprintf(csv, sizeof csv, "%s/%s.csv", dir, nas_recipe_name(r));
	snprintf(init, sizeof init, "%s/cnn.ckpt", dir);
	tc.recipe = r;
	tc.seed = seed;
	tc.out = ckpt;
	tc.csv = csv;
	if (access(ckpt, F_OK) == 0)
		tc.resume = ckpt;	/* an interrupted (or unscored) run */
	if (r == NAS_RECIPE_TPI_FREEZE || r == NAS_RECIPE_TPI_UNFREEZE)
		tc.init = init;
	if (h != NULL && h->run != NULL)
		h->run(h->ctx, nas_recipe_name(r), seed);
	if ((rc = nas_train_run(&tc, h != NULL ? h->train : NULL, &st, &sum,
	    err)) != 0)
		return rc;
	if (st) {
		*stopped = 1;	/* the checkpoint is written; a rerun resumes */
		return 0;
	}
	for (int p = 0; p < 2; p++) {
		x->seconds[p] = sum.seconds[p];
		x->step_ms[p] = sum.step_ms[p];
		x->steps[p] = sum.steps[p];
	}
	if (tc.init != NULL) {
		/* with --init its one phase is phase 2 */
		x->seconds[1] = x->seconds[0];
		x->step_ms[1] = x->step_ms[0];
		x->steps[1] = x->steps[0];
		x->seconds[0] = x->step_ms[0] = 0;
		x->steps[0] = 0;
	}
	if ((rc = score(ckpt, c, test_images, x, err)) != 0 ||
	    (rc = save_result(path, nas_recipe_name(r), seed, x, err)) != 0)
		return rc;
	x->have = 1;
	return 0;
}

/* The runs of one stage as child processes (--jobs): each trains, scores
 * and writes its JSON; the parent reads them back. */
static int
run_parallel(const nas_table2_cfg *c, const nas_train_cfg *base,
    const int *todo, int n, uint64_t seed, const char *dir, int test_images,
    const nas_table2_hooks *h, int *stopped, result *res, h4h_err *err)
{
	pid_t pid[NAS_RECIPE_COUNT];
	int failed = -1, status;
	char path[1100];

	fflush(NULL);
	for (int k = 0; k < n; k++) {
		pid[k] = fork();
		if (pid[k] < 0) {
			n = k;
			failed = -2;
			break;
		}
		if (pid[k] == 0) {
			h4h_err e2 = { "" };
			int st = 0, rc = run_one(c, base, todo[k], seed, dir,
			    test_images, h, &st, &res[todo[k]], &e2);

			if (rc != 0)
				fprintf(stderr, "h4h: reproduce: %s (seed %llu): "
				    "%s\n", nas_recipe_name(todo[k]),
				    (unsigned long long)seed, e2.msg);
			fflush(NULL);
			_exit(rc != 0 ? (rc == H4H_EINPUT ? 2 : 1) : st ? 130 :
			    0);
		}
	}
	for (int k = 0; k < n; k++) {
		pid_t w;

		/* Ctrl-C reaches the children too; the wait goes on */
		while ((w = waitpid(pid[k], &status, 0)) < 0 && errno == EINTR)
			;
		if (w < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) == 1 || WEXITSTATUS(status) == 2) {
			if (failed < 0)
				failed = k;
		} else if (WEXITSTATUS(status) == 130) {
			*stopped = 1;
		}
	}
	if (failed == -2)
		return h4h_errf(err, H4H_EIO, "cannot start a job process");
	if (failed >= 0)
		return h4h_errf(err, H4H_ESIM, "the %s run (seed %llu) failed "
		    "(its message is above)", nas_recipe_name(todo[failed]),
		    (unsigned long long)seed);
	for (int k = 0; k < n && !*stopped; k++) {
		snprintf(path, sizeof path, "%s/%s.json", dir,
		    nas_recipe_name(todo[k]));
		if (!load_result(path, &res[todo[k]]))
			return h4h_errf(err, H4H_EIO, "'%s': missing after its "
			    "run", path);
	}
	return 0;
}

int
nas_table2_run(const nas_table2_cfg *c, const nas_table2_hooks *h,
    int *stopped, h4h_err *err)
{
	static const int order[NAS_RECIPE_COUNT] = { NAS_RECIPE_CNN,
	    NAS_RECIPE_VANILLA, NAS_RECIPE_TPI_FREEZE,
	    NAS_RECIPE_TPI_UNFREEZE };
	result (*res)[NAS_RECIPE_COUNT];
	char budget[400], dir[1024], path[1100];
	int rc = 0, test_images;
	double t0 = h4h_now_s();
	report rp;
	nas_train_cfg base;

	*stopped = 0;
	nas_train_defaults(&base);
	base.space = c->space;
	base.threads = c->threads;
	base.data_dir = c->data_dir;
	if (nas_table2_budget(c->budget, &base, &test_images, budget,
	    sizeof budget) != 0)
		return h4h_errf(err, H4H_EINPUT, "--budget must be default, long "
		    "or smoke (got '%s')", c->budget);
	if (c->n_seeds < 1 || c->n_seeds > NAS_TABLE2_MAX_SEEDS)
		return h4h_errf(err, H4H_EINPUT, "need 1..%d seeds",
		    NAS_TABLE2_MAX_SEEDS);
	if ((rc = mkdir_p(c->out, err)) != 0 ||
	    (rc = check_budget(c->out, c->budget, err)) != 0)
		return rc;
	res = h4h_xcalloc((size_t)c->n_seeds, sizeof *res);
	for (int s = 0; s < c->n_seeds && rc == 0; s++) {
		snprintf(dir, sizeof dir, "%s/seed%llu", c->out,
		    (unsigned long long)c->seeds[s]);
		if ((rc = mkdir_p(dir, err)) != 0)
			break;
		/* two stages: cnn and vanilla need nothing; the TPI runs start
		 * from the cnn run's checkpoint */
		for (int stage = 0; stage < 2 && rc == 0; stage++) {
			int todo[2], n = 0;

			for (int i = 2 * stage; i < 2 * stage + 2; i++) {
				int r = order[i];

				snprintf(path, sizeof path, "%s/%s.json", dir,
				    nas_recipe_name(r));
				if (!load_result(path, &res[s][r]))
					todo[n++] = r;
			}
			if (c->jobs > 1 && n > 1)
				rc = run_parallel(c, &base, todo, n, c->seeds[s],
				    dir, test_images, h, stopped, res[s], err);
			else
				for (int k = 0; k < n && rc == 0 && !*stopped; k++)
					rc = run_one(c, &base, todo[k], c->seeds[s],
					    dir, test_images, h, stopped,
					    &res[s][todo[k]], err);
			if (*stopped)
				goto out;
		}
	}
	if (rc != 0)
		goto out;
	memset(&rp, 0, sizeof rp);
	rp.cfg = c;
	rp.budget = budget;
	rp.res = res;
	rp.wall_s = h4h_now_s() - t0;
	{
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(rp.date, sizeof rp.date, "%Y-%m-%d", &tm);
	}
	snprintf(path, sizeof path, "%s/table2.md", c->out);
	if ((rc = h4h_write_atomic(path, "table", write_md, &rp, err)) != 0)
		goto out;
	snprintf(path, sizeof path, "%s/table2.csv", c->out);
	if ((rc = h4h_write_atomic(path, "csv", write_csv, &rp, err)) != 0)
		goto out;
	if (c->results != NULL)
		rc = splice_results(c->results, &rp, err);
out:
	free(res);
	return rc;
}
