/*
 * subnet.c - extracting one subnet of a trained supernet (subnet.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "nas/subnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic.h"
#include "nn/ckpt.h"
#include "nn/data.h"
#include "nn/ops.h"

#define SPEC_HEAD 4
#define SPEC_PER_STAGE 6

static void
write_text(FILE *f, const void *ctx)
{
	fputs(ctx, f);
	fputc('\n', f);
}

int
nas_subnet_extract(nas_supernet *s, const nas_gene *g, const char *data_dir,
    const char *arch_out, const char *ckpt_out, h4h_err *err)
{
	nas_imageset cal;
	nn_sn *x = NULL;
	nn_ckpt *ck = NULL;
	sim_arch a;
	const nn_sn_spec *sp;
	const nn_param *pt, *st;
	int32_t spec[SPEC_HEAD + SPEC_PER_STAGE * NN_SN_MAX_STAGES];
	int64_t dims[1];
	char meta[768], text[512], *arch = NULL;
	nn_sn_active act;
	int rc, np, ns;

	if ((rc = nas_gene_check(s->sp, g, err)) != 0)
		return rc;
	/* the full-size network, validated by lowering it once */
	nas_gene_arch(s->sp->full, g, &a);
	{
		sim_net *net = NULL;

		if ((rc = sim_arch_lower(&a, "subnet", &net, err)) != 0)
			return rc;
		sim_net_destroy(net);
	}
	if ((rc = nas_supernet_sets(s, data_dir, 0, 0, &cal, NULL, err)) != 0)
		return rc;
	nas_gene_active(s->sp, g, &act);
	if ((rc = nn_sn_set_active(s->sn, &act, err)) != 0 ||
	    (rc = nas_recal(s->sn, &cal, s->B, err)) != 0 ||
	    (rc = nn_sn_extract(s->ctx, s->sn, 1, &x, err)) != 0)
		goto out;
	sp = nn_sn_spec_of(x);
	spec[0] = sp->in_hw;
	spec[1] = sp->in_ch;
	spec[2] = sp->classes;
	spec[3] = sp->n_stages;
	for (int i = 0; i < sp->n_stages; i++) {
		int32_t *o = spec + SPEC_HEAD + SPEC_PER_STAGE * i;

		o[0] = sp->st[i].kind;
		o[1] = sp->st[i].width;
		o[2] = sp->st[i].depth;
		o[3] = sp->st[i].expand;
		o[4] = sp->st[i].stride;
		o[5] = (int32_t)(sp->st[i].mlp * 1e6f + 0.5f);
	}
	nas_gene_text(s->sp, g, text, sizeof text);
	snprintf(meta, sizeof meta, "model=h4h-subnet space=%s res=%d gene=%s",
	    s->sp->name, act.res, text);
	ck = nn_ckpt_create();
	nn_ckpt_set_meta(ck, meta);
	dims[0] = SPEC_HEAD + SPEC_PER_STAGE * sp->n_stages;
	pt = nn_sn_param_table(x, &np);
	st = nn_sn_state_table(x, &ns);
	if ((rc = nn_ckpt_add(ck, "spec", NN_DTYPE_I32, 1, dims, spec,
	    err)) != 0 ||
	    (rc = nn_ckpt_add_slab(ck, "param.", nn_sn_params(x), pt, np,
	    err)) != 0 ||
	    (rc = nn_ckpt_add_slab(ck, "state.", nn_sn_state(x), st, ns,
	    err)) != 0)
		goto out;
	arch = sim_arch_canon(&a);
	if ((rc = h4h_write_atomic(arch_out, "architecture", write_text, arch,
	    err)) != 0)
		goto out;
	rc = nn_ckpt_write(ck, ckpt_out, err);
out:
	free(arch);
	nn_ckpt_destroy(ck);
	nn_sn_destroy(x);
	nas_imageset_free(&cal);
	return rc;
}

int
nas_subnet_is_ckpt(const char *meta)
{
	return strncmp(meta, "model=h4h-subnet ", 17) == 0;
}

int
nas_subnet_eval_ckpt(const char *path, const char *data_dir, int threads,
    double *acc, char *name, size_t name_len, h4h_err *err)
{
	nn_ckpt *ck = NULL;
	nn_ctx *ctx = NULL;
	nn_sn *x = NULL;
	nn_dataset *test = NULL;
	nas_imageset set;
	nn_sn_spec spec;
	const nn_ckpt_tensor *t;
	const nn_param *pt, *st;
	const int32_t *v;
	float *small = NULL;
	int rc, np, ns, B = 250, n;
	long long right = 0;
	const char *g;

	memset(&set, 0, sizeof set);
	if ((rc = nn_ckpt_read(path, &ck, err)) != 0)
		return rc;
	t = nn_ckpt_find(ck, "spec");
	if (!nas_subnet_is_ckpt(nn_ckpt_meta(ck)) || t == NULL ||
	    t->dtype != NN_DTYPE_I32 || t->nbytes < 4 * SPEC_HEAD) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': not a subnet checkpoint "
		    "(h4h supernet extract writes those)", path);
		goto out;
	}
	v = t->data;
	memset(&spec, 0, sizeof spec);
	spec.in_hw = v[0];
	spec.in_ch = v[1];
	spec.classes = v[2];
	spec.n_stages = v[3];
	if (spec.n_stages < 1 || spec.n_stages > NN_SN_MAX_STAGES ||
	    t->nbytes != 4 * (size_t)(SPEC_HEAD + SPEC_PER_STAGE *
	    spec.n_stages) || spec.in_ch != 1 || spec.in_hw < 1 ||
	    spec.in_hw > 28 || spec.classes != NN_FMNIST_CLASSES) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': bad subnet spec", path);
		goto out;
	}
	for (int i = 0; i < spec.n_stages; i++) {
		const int32_t *o = v + SPEC_HEAD + SPEC_PER_STAGE * i;

		spec.st[i] = (nn_sn_stage){ o[0], o[1], o[2], o[3], o[4],
		    (float)o[5] / 1e6f };
	}
	g = strstr(nn_ckpt_meta(ck), "gene=");
	snprintf(name, name_len, "%s", g != NULL ? g + 5 : "subnet");
	if ((rc = nn_ctx_create(threads, &ctx, err)) != 0 ||
	    (rc = nn_sn_create(ctx, &spec, B, 1, &x, err)) != 0)
		goto out;
	pt = nn_sn_param_table(x, &np);
	st = nn_sn_state_table(x, &ns);
	if ((rc = nn_ckpt_get_slab(ck, "param.", nn_sn_params(x), pt, np,
	    err)) != 0 ||
	    (rc = nn_ckpt_get_slab(ck, "state.", nn_sn_state(x), st, ns,
	    err)) != 0 ||
	    (rc = nn_fmnist_load(data_dir, "t10k", &test, err)) != 0 ||
	    (rc = nas_imageset_make(test, NULL, test->n, 28, &set, err)) != 0)
		goto out;
	/* 28 px test images downscaled to the subnet's resolution exactly as
	 * the supernet's forward does */
	small = h4h_xcalloc((size_t)B * spec.in_hw * spec.in_hw, sizeof *small);
	n = set.n;
	for (int at = 0; at < n; at += B) {
		int b = n - at < B ? n - at : B;
		const float *lg;

		nn_resize_bilinear_forward(small, set.x + (size_t)at * 28 * 28, b,
		    28, 28, 1, spec.in_hw, spec.in_hw);
		if ((rc = nn_sn_forward(x, small, b, NN_BN_INFER, 0, err)) != 0)
			goto out;
		lg = nn_sn_logits(x);
		for (int s = 0; s < b; s++) {
			int best = 0;

			for (int k = 1; k < spec.classes; k++)
				if (lg[s * spec.classes + k] >
				    lg[s * spec.classes + best])
					best = k;
			right += best == set.y[at + s];
		}
	}
	*acc = n ? (double)right / n : 0;
out:
	free(small);
	nas_imageset_free(&set);
	nn_dataset_destroy(test);
	nn_sn_destroy(x);
	nn_ctx_destroy(ctx);
	nn_ckpt_destroy(ck);
	return rc;
}
