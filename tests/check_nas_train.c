/*
 * check_nas_train.c - supernet training recipes on Fashion-MNIST
 * (src/nas/sntrain.c), on a few steps of small batches.
 *
 * Core: a stopped-and-resumed run ends bit-identical to an uninterrupted
 * one; tpi-freeze's phase 2 leaves every CNN tensor bit-identical and
 * changes the vit and batch-norm tensors; a two-phase run without --init
 * equals phase 1 (cnn) followed by a run with --init; the cnn recipe never
 * touches a vit tensor.
 * Errors: a checkpoint of another recipe or space, --init of a wrong
 * recipe, a missing dataset.
 * Skips (77) when Debian's dataset-fashion-mnist is not installed.
 */
#define _POSIX_C_SOURCE 200809L
#include "check_util.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nas/sntrain.h"
#include "nn/ckpt.h"
#include "nn/data.h"

#define OK(call) do { \
	int rc_ = (call); \
	ck_assert_msg(rc_ == 0, "%s: %d: %s", #call, rc_, err.msg); \
} while (0)

static char space_path[1024];
static tu_tmpdir tmp = TU_TMPDIR_INIT;
static const char *dir = tmp.dir;

static void
setup(void)
{
	tu_src_path(space_path, sizeof space_path, "spaces/h4h-fmnist.json");
	tu_tmpdir_make(&tmp, "check_nas_train");
}

/* Checked fixture: runs in the test case's own (forked) process, where
 * setup() made the directory. */
static void
teardown(void)
{
	tu_tmpdir_remove(&tmp);
}

static void
small(nas_train_cfg *c, int recipe, const char *out)
{
	nas_train_defaults(c);
	c->space = space_path;
	c->recipe = recipe;
	c->epochs = 0;
	c->steps = 4;
	c->batch = 8;
	c->val = 200;
	c->eval_images = 16;
	c->recal_images = 16;
	c->recal_batch = 8;
	c->threads = 1;
	c->out = out;
}

static char *
path(const char *name)
{
	static char p[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

/* Stops after `after` steps. */
typedef struct stopper {
	int steps, after;
} stopper;

static int
stop_after(void *ctx)
{
	stopper *s = ctx;

	return ++s->steps >= s->after;
}

/* Compares the params of two checkpoints tensor by tensor; returns the
 * number of differing tensors among those whose name matches (pattern
 * NULL: all), and counts the compared ones. */
static int
diff_params(const char *a, const char *b, int (*select)(const char *),
    int *compared)
{
	nn_ckpt *x, *y;
	h4h_err err;
	int n = 0;

	OK(nn_ckpt_read(a, &x, &err));
	OK(nn_ckpt_read(b, &y, &err));
	*compared = 0;
	for (int i = 0; i < nn_ckpt_count(x); i++) {
		const nn_ckpt_tensor *t = nn_ckpt_at(x, i), *u;

		if (strncmp(t->name, "param.", 6) != 0 ||
		    (select != NULL && !select(t->name + 6)))
			continue;
		u = nn_ckpt_find(y, t->name);
		ck_assert_ptr_nonnull(u);
		ck_assert_uint_eq(t->nbytes, u->nbytes);
		(*compared)++;
		n += memcmp(t->data, u->data, t->nbytes) != 0;
	}
	nn_ckpt_destroy(x);
	nn_ckpt_destroy(y);
	return n;
}

static int
is_vit(const char *n)
{
	return strstr(n, ".vit") != NULL;
}

static int
is_bn(const char *n)
{
	return strstr(n, ".bn.") != NULL || strstr(n, "bn.gamma") != NULL ||
	    strstr(n, "bn.beta") != NULL;
}

static int
is_cnn(const char *n)
{
	return !is_vit(n) && !is_bn(n);
}

static int
have_data(void)
{
	return access(NN_FMNIST_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0 ||
	    access(NN_FMNIST_DIR "/train-images-idx3-ubyte", R_OK) == 0;
}

START_TEST(test_resume_bit_exact)
{
	nas_train_cfg c;
	nas_train_hooks h = { NULL, NULL, NULL, stop_after };
	stopper st = { 0, 2 };
	h4h_err err;
	int stopped, cmp;

	setup();
	small(&c, NAS_RECIPE_VANILLA, path("straight.ckpt"));
	OK(nas_train_run(&c, NULL, &stopped, NULL, &err));
	ck_assert_int_eq(stopped, 0);
	small(&c, NAS_RECIPE_VANILLA, path("half.ckpt"));
	h.ctx = &st;
	OK(nas_train_run(&c, &h, &stopped, NULL, &err));
	ck_assert_int_eq(stopped, 1);
	small(&c, NAS_RECIPE_VANILLA, path("resumed.ckpt"));
	c.resume = path("half.ckpt");
	OK(nas_train_run(&c, NULL, &stopped, NULL, &err));
	ck_assert_int_eq(diff_params(path("straight.ckpt"),
	    path("resumed.ckpt"), NULL, &cmp), 0);
	ck_assert_int_gt(cmp, 100);
	/* and the half-way checkpoint really is another state */
	ck_assert_int_gt(diff_params(path("straight.ckpt"), path("half.ckpt"),
	    NULL, &cmp), 0);
}
END_TEST

START_TEST(test_tpi_freeze)
{
	nas_train_cfg c;
	h4h_err err;
	int stopped, cmp, d;

	setup();
	small(&c, NAS_RECIPE_CNN, path("cnn.ckpt"));
	OK(nas_train_run(&c, NULL, &stopped, NULL, &err));
	small(&c, NAS_RECIPE_TPI_FREEZE, path("frozen.ckpt"));
	c.init = path("cnn.ckpt");
	OK(nas_train_run(&c, NULL, &stopped, NULL, &err));
	/* every CNN tensor bit-identical, the vit and BN ones moved */
	ck_assert_int_eq(diff_params(path("cnn.ckpt"), path("frozen.ckpt"),
	    is_cnn, &cmp), 0);
	ck_assert_int_gt(cmp, 50);
	d = diff_params(path("cnn.ckpt"), path("frozen.ckpt"), is_vit, &cmp);
	ck_assert_int_gt(cmp, 20);
	ck_assert_int_ge(d, cmp / 2);
	ck_assert_int_gt(diff_params(path("cnn.ckpt"), path("frozen.ckpt"),
	    is_bn, &cmp), cmp / 2);
	/* unfreeze moves the CNN tensors too */
	small(&c, NAS_RECIPE_TPI_UNFREEZE, path("unfrozen.ckpt"));
	c.init = path("cnn.ckpt");
	OK(nas_train_run(&c, NULL, &stopped, NULL, &err));
	ck_assert_int_gt(diff_params(path("cnn.ckpt"), path("unfrozen.ckpt"),
	    is_cnn, &cmp), cmp / 2);
}
END_TEST

START_TEST(test_cnn_leaves_vit)
{
	nas_train_cfg c;
	nas_train_hooks h = { NULL, NULL, NULL, stop_after };
	stopper st = { 0, 1 };
	h4h_err err;
	int stopped, cmp;

	setup();
	/* the state after one step against the state after four: no vit
	 * tensor moves (no gradient, no weight decay) */
	small(&c, NAS_RECIPE_CNN, path("one.ckpt"));
	h.ctx = &st;
	OK(nas_train_run(&c, &h, &stopped, NULL, &err));
	small(&c, NAS_RECIPE_CNN, path("four.ckpt"));
	OK(nas_train_run(&c, NULL, &stopped, NULL, &err));
	ck_assert_int_eq(diff_params(path("one.ckpt"), path("four.ckpt"),
	    is_vit, &cmp), 0);
	ck_assert_int_gt(cmp, 20);
	ck_assert_int_gt(diff_params(path("one.ckpt"), path("four.ckpt"),
	    is_cnn, &cmp), 0);
}
END_TEST

START_TEST(test_two_phase_equals_init)
{
	nas_train_cfg c;
	h4h_err err;
	int stopped, cmp;

	setup();
	small(&c, NAS_RECIPE_TPI_FREEZE, path("both.ckpt"));
	c.steps = 2;
	OK(nas_train_run(&c, NULL, &stopped, NULL, &err));
	small(&c, NAS_RECIPE_CNN, path("p1.ckpt"));
	c.steps = 2;
	OK(nas_train_run(&c, NULL, &stopped, NULL, &err));
	small(&c, NAS_RECIPE_TPI_FREEZE, path("p2.ckpt"));
	c.steps = 2;
	c.init = path("p1.ckpt");
	OK(nas_train_run(&c, NULL, &stopped, NULL, &err));
	ck_assert_int_eq(diff_params(path("both.ckpt"), path("p2.ckpt"), NULL,
	    &cmp), 0);
	ck_assert_int_gt(cmp, 100);
}
END_TEST

START_TEST(test_errors)
{
	nas_train_cfg c;
	h4h_err err;
	int stopped;

	setup();
	small(&c, NAS_RECIPE_VANILLA, path("v.ckpt"));
	c.steps = 1;
	OK(nas_train_run(&c, NULL, &stopped, NULL, &err));
	/* resume with another recipe */
	small(&c, NAS_RECIPE_CNN, path("x.ckpt"));
	c.resume = path("v.ckpt");
	ck_assert_int_eq(nas_train_run(&c, NULL, &stopped, NULL, &err),
	    H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "made by recipe 'vanilla', not 'cnn'") !=
	    NULL, "%s", err.msg);
	/* resume under another space (a copy with another name) */
	{
		char cmd[2048], other[600];
		snprintf(other, sizeof other, "%s/other.json", dir);
		snprintf(cmd, sizeof cmd, "sed 's/\"name\": \"h4h-fmnist\"/"
		    "\"name\": \"other\"/' '%s' > '%s' && cp '%s/spaces/"
		    "h4h-imagenet.json' '%s/'", space_path, other,
		    tu_src_dir(), dir);
		ck_assert_int_eq(system(cmd), 0);
		small(&c, NAS_RECIPE_VANILLA, path("x.ckpt"));
		c.space = other;
		c.resume = path("v.ckpt");
		ck_assert_int_eq(nas_train_run(&c, NULL, &stopped, NULL, &err),
		    H4H_EINPUT);
		ck_assert_msg(strstr(err.msg, "a supernet of space 'h4h-fmnist', "
		    "not 'other'") != NULL, "%s", err.msg);
	}
	/* --init of a vanilla checkpoint */
	small(&c, NAS_RECIPE_TPI_FREEZE, path("x.ckpt"));
	c.init = path("v.ckpt");
	ck_assert_int_eq(nas_train_run(&c, NULL, &stopped, NULL, &err),
	    H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "needs a checkpoint of recipe 'cnn'") !=
	    NULL, "%s", err.msg);
	/* a missing dataset */
	small(&c, NAS_RECIPE_CNN, path("x.ckpt"));
	c.data_dir = "/nonexistent-fmnist";
	ck_assert_int_eq(nas_train_run(&c, NULL, &stopped, NULL, &err),
	    H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "/nonexistent-fmnist") != NULL, "%s",
	    err.msg);
	ck_assert_int_ne(access(path("x.ckpt"), F_OK), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("nas_train");
	TCase *core = tcase_create("Core"), *errs = tcase_create("Errors");
	SRunner *sr;
	int failed;

	if (!have_data()) {
		fprintf(stderr, "check_nas_train: Fashion-MNIST not installed "
		    "(apt-get install dataset-fashion-mnist); skipping\n");
		return 77;
	}
	tcase_add_test(core, test_resume_bit_exact);
	tcase_add_test(core, test_tpi_freeze);
	tcase_add_test(core, test_cnn_leaves_vit);
	tcase_add_test(core, test_two_phase_equals_init);
	tcase_add_test(errs, test_errors);
	tcase_add_checked_fixture(core, NULL, teardown);
	tcase_add_checked_fixture(errs, NULL, teardown);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errs);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
