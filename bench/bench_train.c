/*
 * bench_train.c - the C training engine's speed on the reference models
 * (issue 5): training images/s at batch 128 with 2 threads (AdamW steps on
 * a fixed random batch, as bench/torch_ref.py measures PyTorch), inference
 * images/s at batch 1 and 128, peak resident memory.  When Debian's
 * python3-torch is installed, the same figures for PyTorch are measured in
 * the same run (bench/torch_ref.py, with PyTorch at its best here: 2
 * threads, OPENBLAS_NUM_THREADS=1, large malloc thresholds) and the ratios
 * printed.  Target: training at least 2x PyTorch's.
 *
 * Peak memory of the C engine is this process's (it runs both models, one
 * after the other); PyTorch's is its own process's.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "nn/ctx.h"
#include "nn/model.h"
#include "nn/optim.h"

#define BATCH 128
#define STEPS 30

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct figures {
	double train, infer1, infer128, rss_mb;
} figures;

static int
bench_c(const char *name, figures *f)
{
	nn_ctx *ctx;
	nn_model *m, *m1;
	h4h_err err = { "" };
	nn_adamw_cfg ac = nn_adamw_defaults(0.05f);
	const nn_param *tab;
	float *x, *mo, *ve;
	int *y, n;
	double t0;
	struct rusage ru;
	unsigned long long rng = 12345;

	if (nn_ctx_create(2, &ctx, &err) != 0 ||
	    nn_model_create(ctx, name, BATCH, 1, &m, &err) != 0 ||
	    nn_model_create(ctx, name, 1, 1, &m1, &err) != 0) {
		fprintf(stderr, "bench_train: %s\n", err.msg);
		return 1;
	}
	x = malloc(sizeof *x * BATCH * 32 * 32);
	y = malloc(sizeof *y * BATCH);
	mo = calloc(nn_model_nparams(m), sizeof *mo);
	ve = calloc(nn_model_nparams(m), sizeof *ve);
	for (int i = 0; i < BATCH * 32 * 32; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		x[i] = (float)((rng >> 40) % 2001) / 1000.0f - 1.0f;
	}
	for (int i = 0; i < BATCH; i++)
		y[i] = i % 10;
	tab = nn_model_param_table(m, &n);
	for (int s = 0; s < STEPS + 5; s++) {	/* 5 warm-up steps */
		if (s == 5)
			t0 = now_s();
		if (nn_model_forward(m, x, y, BATCH, 1, 0, NULL, NULL,
		    &err) != 0 || nn_model_backward(m, &err) != 0) {
			fprintf(stderr, "bench_train: %s\n", err.msg);
			return 1;
		}
		nn_adamw_step(&ac, 2e-3f, s + 1, 1, nn_model_params(m),
		    nn_model_grads(m), mo, ve, tab, n);
	}
	f->train = STEPS * BATCH / (now_s() - t0);
	for (int b = 0; b < 2; b++) {
		nn_model *mm = b == 0 ? m1 : m;
		int bs = b == 0 ? 1 : BATCH, reps = b == 0 ? 2000 : 20;

		for (int r = 0; r < reps + 3; r++) {
			if (r == 3)
				t0 = now_s();
			nn_model_forward(mm, x, NULL, bs, 0, 0, NULL, NULL, &err);
		}
		if (b == 0)
			f->infer1 = reps / (now_s() - t0);
		else
			f->infer128 = reps * BATCH / (now_s() - t0);
	}
	getrusage(RUSAGE_SELF, &ru);
	f->rss_mb = ru.ru_maxrss / 1024.0;
	free(x);
	free(y);
	free(mo);
	free(ve);
	nn_model_destroy(m);
	nn_model_destroy(m1);
	nn_ctx_destroy(ctx);
	return 0;
}

/* PyTorch's figures from torch_ref.py --bench; 0 when torch is absent. */
static int
bench_torch(const char *name, figures *f)
{
	const char *src = getenv("H4H_SRCDIR");
	char cmd[1024], line[256];
	FILE *p;
	int found = 0;

	memset(f, 0, sizeof *f);
	if (access("/usr/bin/python3", X_OK) != 0)
		return 0;
	snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 "
	    "MALLOC_MMAP_THRESHOLD_=1000000000 "
	    "MALLOC_TRIM_THRESHOLD_=1000000000 /usr/bin/python3 "
	    "%s/bench/torch_ref.py --bench --model %s --batch %d --steps %d "
	    "--threads 2 2>/dev/null", src ? src : ".", name, BATCH, STEPS);
	if ((p = popen(cmd, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, p) != NULL) {
		double v;

		if (sscanf(line, "train_img_s %lf", &v) == 1)
			f->train = v, found = 1;
		else if (sscanf(line, "infer_b1_img_s %lf", &v) == 1)
			f->infer1 = v;
		else if (sscanf(line, "infer_b%*d_img_s %lf", &v) == 1)
			f->infer128 = v;
		else if (sscanf(line, "peak_rss_mb %lf", &v) == 1)
			f->rss_mb = v;
	}
	pclose(p);
	return found;
}

int
main(void)
{
	static const char *const models[] = { "ref-hybrid", "ref-cnn" };
	int rc = 0;

	printf("bench_train: %ld online cores, batch %d, 2 threads, %d steps "
	    "after 5 warm-up\n", sysconf(_SC_NPROCESSORS_ONLN), BATCH, STEPS);
	printf("%-11s %-8s %12s %12s %14s %10s\n", "model", "engine",
	    "train img/s", "infer b1", "infer b128", "peak MB");
	for (int i = 0; i < 2; i++) {
		figures c, t;

		if (bench_c(models[i], &c) != 0) {
			rc = 1;
			continue;
		}
		printf("%-11s %-8s %12.0f %12.0f %14.0f %10.0f\n", models[i],
		    "h4h", c.train, c.infer1, c.infer128, c.rss_mb);
		if (bench_torch(models[i], &t)) {
			printf("%-11s %-8s %12.0f %12.0f %14.0f %10.0f\n",
			    models[i], "pytorch", t.train, t.infer1, t.infer128,
			    t.rss_mb);
			printf("%-11s %-8s %11.2fx %11.2fx %13.2fx   (target: "
			    "train >= 2x)\n", models[i], "ratio", c.train / t.train,
			    c.infer1 / t.infer1, c.infer128 / t.infer128);
		} else {
			printf("%-11s pytorch: not measured (apt-get install "
			    "python3-torch)\n", models[i]);
		}
	}
	return rc;
}
