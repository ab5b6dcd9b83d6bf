/*
 * check_nas.c - search spaces, genes and the sandwich step (src/nas).
 *
 * Core: the shipped spaces load and pair decision for decision; genes
 * round-trip through their JSON and text; every gene decodes to valid
 * networks at both scales; the supernet engine counts exactly the MACs the
 * simulator counts for the same proxy network; the sandwich gradient is
 * the 1/K-weighted sum of the separate backwards.
 * Errors: a width out of range, a proxy that does not match its full
 * scale, a gene that does not fit its space, each with its one-line
 * message.
 */
#define _POSIX_C_SOURCE 200809L
#include "check_util.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nas/gene.h"
#include "nas/sandwich.h"
#include "nas/space.h"
#include "nn/ops.h"
#include "nn/supernet.h"
#include "sim/front/arch.h"
#include "sim/spec/net.h"

#define OK(call) do { \
	int rc_ = (call); \
	ck_assert_msg(rc_ == 0, "%s: %d: %s", #call, rc_, err.msg); \
} while (0)

static char proxy_path[1024], full_path[1024];
static tu_tmpdir tmp = TU_TMPDIR_INIT;

static void
paths(void)
{
	tu_src_path(proxy_path, sizeof proxy_path, "spaces/h4h-fmnist.json");
	tu_src_path(full_path, sizeof full_path, "spaces/h4h-imagenet.json");
	if (tmp.dir[0] == '\0')
		tu_tmpdir_make(&tmp, "check_nas");
}

static nas_space *
load_proxy(void)
{
	nas_space *s;
	h4h_err err;

	paths();
	OK(nas_space_load(proxy_path, &s, &err));
	return s;
}

static long long
sim_macs(const sim_arch *a)
{
	sim_net *net = NULL;
	h4h_err err;
	long long m = 0;

	OK(sim_arch_lower(a, "test", &net, &err));
	for (int i = 0; i < net->n_layers; i++)
		m += sim_layer_macs(&net->layers[i]);
	sim_net_destroy(net);
	return m;
}

/* ---- Core ----------------------------------------------------------------- */

START_TEST(test_space_table1)
{
	nas_space *s = load_proxy();
	const nas_space *f = s->full;
	int st, key;

	ck_assert_str_eq(s->name, "h4h-fmnist");
	ck_assert_str_eq(f->name, "h4h-imagenet");
	ck_assert_int_eq(f->n_stages, 20);
	/* Table 1: MBConv-2 widths 32..64 in steps of 8, depth 2..6, expand
	 * 4..6; ViT-7 width 176..240, depth 0..3; MBPool 1792..1984 */
	ck_assert_int_eq(f->st[2].n[NAS_K_WIDTH], 5);
	ck_assert_int_eq((int)f->st[2].v[NAS_K_WIDTH][4], 64);
	ck_assert_int_eq(f->st[2].n[NAS_K_DEPTH], 5);
	ck_assert_int_eq(f->st[2].n[NAS_K_EXPAND], 3);
	ck_assert_int_eq(f->st[18].kind, SIM_BLOCK_VIT);
	ck_assert_int_eq((int)f->st[18].v[NAS_K_WIDTH][0], 176);
	ck_assert_int_eq((int)f->st[18].v[NAS_K_DEPTH][3], 3);
	ck_assert_int_eq((int)f->st[19].v[NAS_K_WIDTH][24], 1984);
	ck_assert_int_eq(f->n_res, 4);
	ck_assert_int_eq(f->res[1], 224);
	/* the proxy pairs with it decision for decision */
	ck_assert_int_eq(nas_space_decisions(s), nas_space_decisions(f));
	for (int d = 0; d < nas_space_decisions(s); d++)
		ck_assert_int_eq(nas_space_choices(s, d, &st, &key),
		    nas_space_choices(f, d, &st, &key));
	nas_space_destroy(s);
}
END_TEST

START_TEST(test_gene_roundtrip)
{
	nas_space *s = load_proxy();
	h4h_err err;
	nn_rng r;

	nn_rng_seed(&r, 7, 1);
	for (int i = 0; i < 200; i++) {
		nas_gene g, h, m, x;
		char *json, t1[512], t2[512];

		if (i == 0)
			nas_gene_min(s, 0, &g);
		else if (i == 1)
			nas_gene_max(s, 0, &g);
		else
			nas_gene_sample(s, i % 3 == 0, &r, &g);
		OK(nas_gene_check(s, &g, &err));
		json = nas_gene_json(s, &g);
		OK(nas_gene_read(s, json, "rt", &h, &err));
		ck_assert_int_eq(memcmp(&g, &h, sizeof g), 0);
		nas_gene_text(s, &g, t1, sizeof t1);
		nas_gene_text(s, &h, t2, sizeof t2);
		ck_assert_str_eq(t1, t2);
		ck_assert_uint_eq(nas_gene_hash(s, &g), nas_gene_hash(s, &h));
		free(json);
		if (i % 3 == 0 && i > 1)
			ck_assert_int_eq(nas_gene_has_vit(s, &g), 0);
		/* mutation and crossover stay in the space */
		nas_gene_mutate(s, &g, 0.3, 0, &r, &m);
		OK(nas_gene_check(s, &m, &err));
		nas_gene_crossover(s, &g, &m, &r, &x);
		OK(nas_gene_check(s, &x, &err));
	}
	nas_space_destroy(s);
}
END_TEST

START_TEST(test_gene_mutate_changes)
{
	nas_space *s = load_proxy();
	nas_gene g, m;
	nn_rng r;
	int diff = 0;

	nn_rng_seed(&r, 3, 1);
	nas_gene_max(s, 0, &g);
	nas_gene_mutate(s, &g, 1.0, 0, &r, &m);
	for (int d = 0; d < g.n; d++)
		diff += g.c[d] != m.c[d];
	/* p = 1 redraws every decision to another value (canonicalization
	 * may zero the choices of a stage whose depth became 0) */
	ck_assert_int_ge(diff, g.n / 2);
	nas_gene_mutate(s, &g, 0.0, 0, &r, &m);
	ck_assert_int_eq(memcmp(&g, &m, sizeof g), 0);
	nas_space_destroy(s);
}
END_TEST

START_TEST(test_gene_decodes)
{
	nas_space *s = load_proxy();
	nn_rng r;

	nn_rng_seed(&r, 11, 1);
	for (int i = 0; i < 50; i++) {
		nas_gene g;
		sim_arch a, b;
		long long m1, m2;

		if (i == 0)
			nas_gene_min(s, 0, &g);
		else if (i == 1)
			nas_gene_max(s, 0, &g);
		else
			nas_gene_sample(s, 0, &r, &g);
		nas_gene_arch(s, &g, &a);
		nas_gene_arch(s->full, &g, &b);
		m1 = sim_macs(&a);
		m2 = sim_macs(&b);
		ck_assert_int_gt(m1, 0);
		/* the full-size network is the bigger one */
		ck_assert_int_gt(m2, 10 * m1);
		ck_assert_int_eq(a.resolution, s->res[g.c[0]]);
		ck_assert_int_eq(b.resolution, s->full->res[g.c[0]]);
		ck_assert_int_eq(b.in_channels, 3);
		ck_assert_int_eq(b.classes, 1000);
	}
	nas_space_destroy(s);
}
END_TEST

/* The max gene at full scale is nets/h4h-max.json at 288 (Table 1). */
START_TEST(test_gene_max_is_table1)
{
	nas_space *s = load_proxy();
	nas_gene g;
	sim_arch a;

	nas_gene_max(s, 0, &g);
	nas_gene_arch(s->full, &g, &a);
	ck_assert_int_eq(a.resolution, 288);
	ck_assert_int_eq(a.stages[0].width, 32);
	ck_assert_int_eq(a.stages[17].width, 240);
	ck_assert_int_eq(a.stages[18].depth, 3);
	ck_assert(fabs(a.stages[18].mlp_ratio - 2.0) < 1e-12);
	ck_assert_int_eq(a.stages[19].width, 1984);
	nas_gene_min(s, 0, &g);
	nas_gene_arch(s->full, &g, &a);
	ck_assert_int_eq(a.resolution, 192);
	ck_assert_int_eq(a.stages[4].depth, 0);
	ck_assert_int_eq(a.stages[7].depth, 0);
	nas_space_destroy(s);
}
END_TEST

START_TEST(test_mac_parity)
{
	nas_space *s = load_proxy();
	nn_sn_spec spec;
	nn_ctx *ctx;
	nn_sn *sn;
	h4h_err err;
	nn_rng r;

	nas_space_supernet(s, &spec);
	OK(nn_ctx_create(1, &ctx, &err));
	OK(nn_sn_create(ctx, &spec, 2, 1, &sn, &err));
	nn_rng_seed(&r, 5, 1);
	for (int i = 0; i < 30; i++) {
		nas_gene g;
		nn_sn_active act;
		sim_arch a;

		if (i == 0)
			nas_gene_min(s, 0, &g);
		else if (i == 1)
			nas_gene_max(s, 0, &g);
		else
			nas_gene_sample(s, i & 1, &r, &g);
		nas_gene_active(s, &g, &act);
		OK(nn_sn_set_active(sn, &act, &err));
		nas_gene_arch(s, &g, &a);
		ck_assert_int_eq(nn_sn_macs(sn), sim_macs(&a));
	}
	nn_sn_destroy(sn);
	nn_ctx_destroy(ctx);
	nas_space_destroy(s);
}
END_TEST

/* The sandwich gradient is the 1/K-weighted sum of each subnet's own
 * backward, the max net's loss being label-smoothed CE and the others' KL
 * to the max net's softmax. */
START_TEST(test_sandwich_combination)
{
	nas_space *s = load_proxy();
	nn_sn_spec spec;
	nn_ctx *ctx;
	nn_sn *sn;
	nas_sandwich w;
	nas_gene genes[4];
	h4h_err err;
	const int B = 4, K = 10;
	size_t np, img;
	float *x, *want, *teacher, *probs, *dl;
	int y[4] = { 1, 3, 5, 7 }, n;
	double maxdiff = 0, scale = 0;

	nas_space_supernet(s, &spec);
	OK(nn_ctx_create(1, &ctx, &err));
	OK(nn_sn_create(ctx, &spec, B, 9, &sn, &err));
	np = nn_sn_nparams(sn);
	img = (size_t)spec.in_hw * spec.in_hw * spec.in_ch;
	x = calloc((size_t)B * img, sizeof *x);
	for (size_t i = 0; i < (size_t)B * img; i++)
		x[i] = (float)sin(0.37 * (double)i);
	nas_sandwich_init(&w, sn, s, B);
	w.dropout = w.dropconnect = 0;	/* deterministic */
	n = nas_sandwich_genes(&w, 1, 1, 0, genes);
	ck_assert_int_eq(n, 4);
	OK(nas_sandwich_grad(&w, genes, n, x, y, B, NULL, NULL, NULL, &err));
	want = malloc(np * sizeof *want);
	memcpy(want, nn_sn_grads(sn), np * sizeof *want);
	/* the same, one subnet at a time */
	teacher = calloc((size_t)B * K, sizeof *teacher);
	probs = calloc((size_t)B * K, sizeof *probs);
	dl = calloc((size_t)B * K, sizeof *dl);
	nn_sn_zero_grads(sn);
	for (int i = 0; i < n; i++) {
		nn_sn_active a;
		float *acc = malloc(np * sizeof *acc);

		memcpy(acc, nn_sn_grads(sn), np * sizeof *acc);
		nas_gene_active(s, &genes[i], &a);
		OK(nn_sn_set_active(sn, &a, &err));
		nn_sn_set_regularization(sn, 0, 0);
		OK(nn_sn_forward(sn, x, B, NN_BN_TRAIN, 0, &err));
		memset(dl, 0, (size_t)B * K * sizeof *dl);
		if (i == 0) {
			nn_crossentropy_forward(NULL, probs, nn_sn_logits(sn), y,
			    B, K, 0.1f);
			nn_crossentropy_backward(dl, probs, y, B, K, 0.1f, 1);
			nn_softmax_forward(teacher, nn_sn_logits(sn), B, K);
		} else {
			nn_kldiv_forward(NULL, probs, nn_sn_logits(sn), teacher,
			    B, K);
			nn_kldiv_backward(dl, probs, teacher, B, K, 1);
		}
		nn_sn_zero_grads(sn);
		OK(nn_sn_backward(sn, dl, &err));
		for (size_t k = 0; k < np; k++)
			acc[k] += nn_sn_grads(sn)[k] / (float)n;
		memcpy(nn_sn_grads(sn), acc, np * sizeof *acc);
		free(acc);
	}
	for (size_t k = 0; k < np; k++) {
		maxdiff = fmax(maxdiff, fabs(want[k] - nn_sn_grads(sn)[k]));
		scale = fmax(scale, fabs(want[k]));
	}
	ck_assert(scale > 0);
	ck_assert_msg(maxdiff <= 1e-5 * scale, "sandwich gradient differs by "
	    "%g (scale %g)", maxdiff, scale);
	/* and it is not one subnet's alone: the last subnet's own gradient
	 * differs from the combination */
	free(x);
	free(want);
	free(teacher);
	free(probs);
	free(dl);
	nas_sandwich_free(&w);
	nn_sn_destroy(sn);
	nn_ctx_destroy(ctx);
	nas_space_destroy(s);
}
END_TEST

/* ---- Errors ----------------------------------------------------------- */

static int
load_text(const char *name, const char *text, nas_space **s, h4h_err *err)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", tmp.dir, name);
	f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	return nas_space_load(p, s, err);
}

#define TINY_HEAD "{\"name\": \"t\", \"in_channels\": 1, \"classes\": 10, " \
	"\"resolution\": [8, 12], \"stages\": ["
#define TINY_TAIL ", {\"block\": \"mbpool\", \"width\": [16], " \
	"\"expand\": [2]}]}"

START_TEST(test_space_errors)
{
	nas_space *s = NULL;
	h4h_err err;

	paths();
	ck_assert_int_eq(load_text("w.json", TINY_HEAD "{\"name\": \"Conv-0\", "
	    "\"block\": \"conv\", \"width\": [0, 8], \"stride\": 2}" TINY_TAIL,
	    &s, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "stages[0] (Conv-0): width 0 is out of "
	    "range 1..65536") != NULL, "%s", err.msg);
	ck_assert_int_eq(load_text("v.json", TINY_HEAD "{\"block\": \"conv\", "
	    "\"width\": [8]}, {\"block\": \"vit\", \"width\": [12], \"depth\": "
	    "[0, 1], \"mlp_ratio\": [1]}" TINY_TAIL, &s, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "vit width 12 is not a whole number of "
	    "8-dim heads") != NULL, "%s", err.msg);
	ck_assert_int_eq(load_text("k.json", TINY_HEAD "{\"block\": \"conv\", "
	    "\"width\": [8], \"kernel\": 3}" TINY_TAIL, &s, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "unknown key 'kernel'") != NULL, "%s",
	    err.msg);
	ck_assert_int_eq(load_text("r.json", TINY_HEAD "{\"block\": \"conv\", "
	    "\"width\": {\"min\": 8, \"max\": 15, \"step\": 4}}" TINY_TAIL, &s,
	    &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "max 15 is not min 8 plus a whole number "
	    "of steps") != NULL, "%s", err.msg);
	/* a proxy whose full scale has another number of choices */
	ck_assert_int_eq(load_text("full.json", TINY_HEAD "{\"block\": "
	    "\"conv\", \"width\": [16, 24, 32]}" TINY_TAIL, &s, &err), 0);
	nas_space_destroy(s);
	ck_assert_int_eq(load_text("proxy.json", "{\"name\": \"p\", "
	    "\"full_scale\": \"full.json\", \"in_channels\": 1, \"classes\": 10, "
	    "\"resolution\": [8, 12], \"stages\": [{\"block\": \"conv\", "
	    "\"width\": [4, 8]}" TINY_TAIL, &s, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "'width' has 2 choices, the full-scale "
	    "space") != NULL, "%s", err.msg);
	ck_assert_int_eq(nas_space_load("/nonexistent/space.json", &s, &err),
	    H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "/nonexistent/space.json") != NULL, "%s",
	    err.msg);
}
END_TEST

START_TEST(test_gene_errors)
{
	nas_space *s = load_proxy();
	nas_gene g;
	h4h_err err;
	char *json, *p;

	nas_gene_max(s, 0, &g);
	g.c[0] = 9;		/* 4 resolutions */
	ck_assert_int_eq(nas_gene_check(s, &g, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "resolution") != NULL, "%s", err.msg);
	g.n = 3;
	ck_assert_int_eq(nas_gene_check(s, &g, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "does not fit space 'h4h-fmnist'") !=
	    NULL, "%s", err.msg);
	/* a value that is not a choice */
	nas_gene_max(s, 0, &g);
	json = nas_gene_json(s, &g);
	p = strstr(json, "\"width\":8");
	ck_assert_ptr_nonnull(p);
	memcpy(p, "\"width\":7", 9);
	ck_assert_int_eq(nas_gene_read(s, json, "g.json", &g, &err),
	    H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "gene 'g.json' stages[0] (Conv-0): width "
	    "must be one of 4, 6, 8") != NULL, "%s", err.msg);
	free(json);
	/* another space's gene */
	ck_assert_int_eq(nas_gene_read(s, "{\"space\": \"h4h-imagenet\", "
	    "\"resolution\": 224, \"stages\": []}", "x.json", &g, &err),
	    H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "'space' is 'h4h-imagenet', not "
	    "'h4h-fmnist'") != NULL, "%s", err.msg);
	nas_space_destroy(s);
}
END_TEST

static Suite *
nas_suite(void)
{
	Suite *s = suite_create("nas");
	TCase *core = tcase_create("Core"), *errs = tcase_create("Errors");

	tcase_add_test(core, test_space_table1);
	tcase_add_test(core, test_gene_roundtrip);
	tcase_add_test(core, test_gene_mutate_changes);
	tcase_add_test(core, test_gene_decodes);
	tcase_add_test(core, test_gene_max_is_table1);
	tcase_add_test(core, test_mac_parity);
	tcase_add_test(core, test_sandwich_combination);
	tcase_add_test(errs, test_space_errors);
	tcase_add_test(errs, test_gene_errors);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errs);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nas_suite());
	int failed;

	/* Made here, not in the forked test cases, so that it is removed
	 * (tu_tmpdir_make asserts, which Check allows only inside a test). */
	snprintf(tmp.dir, sizeof tmp.dir, "%s/check_nas.XXXXXX",
	    getenv("TMPDIR") != NULL && *getenv("TMPDIR") != '\0' ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp.dir) == NULL) {
		perror(tmp.dir);
		return 1;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tu_tmpdir_remove(&tmp);
	return failed == 0 ? 0 : 1;
}
