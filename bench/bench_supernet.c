/*
 * bench_supernet.c - speed of one sandwich training step (src/nas: max,
 * min and 2 random subnets, then AdamW) on the proxy space
 * spaces/h4h-fmnist.json at batch 128 with 2 threads, on a fixed random
 * batch, in two settings:
 *   vanilla  every tensor trains (recipes vanilla, tpi-unfreeze);
 *   frozen   TPI-freeze's phase 2: the CNN tensors are frozen, only the
 *            vit and batch-norm tensors train.
 * When Debian's python3-torch is installed, the same steps in PyTorch are
 * timed in the same run (bench/torch_supernet.py, at its best: 2 threads,
 * OPENBLAS_NUM_THREADS=1, large malloc thresholds) and the ratios printed.
 * Targets: vanilla at least 2x PyTorch's images/s; a frozen step at most
 * 0.8x the time of a vanilla step.  Steady state: warm-up steps and data
 * preparation are not timed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nas/gene.h"
#include "nas/sandwich.h"
#include "nas/space.h"
#include "nn/ctx.h"
#include "nn/optim.h"
#include "nn/supernet.h"

#define BATCH 128
#define STEPS 10
#define WARMUP 3

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* images/s of `steps` sandwich steps; frozen: TPI-freeze's phase 2. */
static int
bench_c(nas_space *sp, int frozen, double *img_s, h4h_err *err)
{
	nn_sn_spec spec;
	nn_ctx *ctx = NULL;
	nn_sn *sn = NULL;
	nas_sandwich w;
	nn_adamw_cfg ac = nn_adamw_defaults(0.05f);
	const nn_param *pt;
	const int *grp;
	nn_param *opt;
	float *x, *mom, *vel;
	int y[BATCH], np, nopt = 0, rc;
	size_t n, img;
	double t0 = 0;

	nas_space_supernet(sp, &spec);
	if ((rc = nn_ctx_create(2, &ctx, err)) != 0 ||
	    (rc = nn_sn_create(ctx, &spec, BATCH, 1, &sn, err)) != 0)
		return rc;
	img = (size_t)spec.in_hw * spec.in_hw * spec.in_ch;
	x = malloc(BATCH * img * sizeof *x);
	for (size_t i = 0; i < BATCH * img; i++)
		x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
	for (int i = 0; i < BATCH; i++)
		y[i] = i % 10;
	n = nn_sn_nparams(sn);
	mom = calloc(n, sizeof *mom);
	vel = calloc(n, sizeof *vel);
	pt = nn_sn_param_table(sn, &np);
	grp = nn_sn_param_groups(sn);
	opt = calloc((size_t)np, sizeof *opt);
	for (int i = 0; i < np; i++)
		if (!frozen || !(grp[i] & NN_SN_G_CNN))
			opt[nopt++] = pt[i];
	nn_sn_set_frozen(sn, frozen ? NN_SN_G_CNN : 0);
	nas_sandwich_init(&w, sn, sp, BATCH);
	for (int s = 0; s < WARMUP + STEPS; s++) {
		nas_gene genes[NAS_SANDWICH_MAX];
		/* the same subnets in both settings */
		int ng = nas_sandwich_genes(&w, 1, 1, s, genes);
		float sc;

		if (s == WARMUP)
			t0 = now_s();
		if ((rc = nas_sandwich_grad(&w, genes, ng, x, y, BATCH, NULL,
		    NULL, NULL, err)) != 0)
			break;
		sc = nn_grad_clip_scale(nn_grad_norm(nn_sn_grads(sn), n), 1.0f);
		nn_adamw_step(&ac, 2e-3f, s + 1, sc, nn_sn_params(sn),
		    nn_sn_grads(sn), mom, vel, opt, nopt);
	}
	*img_s = rc == 0 ? (double)STEPS * BATCH / (now_s() - t0) : 0;
	nas_sandwich_free(&w);
	free(x);
	free(mom);
	free(vel);
	free(opt);
	nn_sn_destroy(sn);
	nn_ctx_destroy(ctx);
	return rc;
}

/* PyTorch's figures; 0 when torch is absent. */
static int
bench_torch(const char *space, double *sandwich, double *frozen)
{
	const char *src = getenv("H4H_SRCDIR");
	char cmd[2048], line[256];
	FILE *p;
	int found = 0;

	*sandwich = *frozen = 0;
	if (access("/usr/bin/python3", X_OK) != 0)
		return 0;
	snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 "
	    "MALLOC_MMAP_THRESHOLD_=1000000000 "
	    "MALLOC_TRIM_THRESHOLD_=1000000000 /usr/bin/python3 "
	    "%s/bench/torch_supernet.py --bench --space %s --batch %d "
	    "--steps %d --warmup %d --threads 2 2>/dev/null", src ? src : ".",
	    space, BATCH, STEPS, WARMUP);
	if ((p = popen(cmd, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, p) != NULL) {
		double v;

		if (sscanf(line, "sandwich_img_s %lf", &v) == 1)
			*sandwich = v, found = 1;
		else if (sscanf(line, "frozen_img_s %lf", &v) == 1)
			*frozen = v;
	}
	pclose(p);
	return found;
}

int
main(void)
{
	const char *src = getenv("H4H_SRCDIR");
	char path[1024];
	nas_space *sp;
	h4h_err err = { "" };
	double cv, cf, tv, tf;

	snprintf(path, sizeof path, "%s/spaces/h4h-fmnist.json",
	    src ? src : ".");
	if (nas_space_load(path, &sp, &err) != 0) {
		fprintf(stderr, "bench_supernet: %s\n", err.msg);
		return 1;
	}
	printf("bench_supernet: %ld online cores, space %s, batch %d, 2 "
	    "threads, %d sandwich steps (4 subnets each) after %d warm-up\n",
	    sysconf(_SC_NPROCESSORS_ONLN), sp->name, BATCH, STEPS, WARMUP);
	if (bench_c(sp, 0, &cv, &err) != 0 || bench_c(sp, 1, &cf, &err) != 0) {
		fprintf(stderr, "bench_supernet: %s\n", err.msg);
		nas_space_destroy(sp);
		return 1;
	}
	printf("%-8s %-8s %12s\n", "step", "engine", "img/s");
	printf("%-8s %-8s %12.1f\n", "vanilla", "h4h", cv);
	printf("%-8s %-8s %12.1f\n", "frozen", "h4h", cf);
	printf("frozen step time / vanilla step time: %.2f (target <= 0.8)\n",
	    cv / cf);
	if (bench_torch(path, &tv, &tf)) {
		printf("%-8s %-8s %12.1f\n", "vanilla", "pytorch", tv);
		printf("%-8s %-8s %12.1f\n", "frozen", "pytorch", tf);
		printf("ratio h4h/pytorch: vanilla %.2fx, frozen %.2fx (target: "
		    "vanilla >= 2x)\n", cv / tv, tf > 0 ? cf / tf : 0);
	} else {
		printf("pytorch: not measured (apt-get install python3-torch)\n");
	}
	nas_space_destroy(sp);
	return 0;
}
