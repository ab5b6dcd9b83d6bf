/*
 * fitness.c - cached real accuracy evaluations (fitness.h).
 *
 * Image sets are made on first use of a split (the test images only when
 * the final front is scored).  The in-memory table maps a gene's hash to
 * its text and score; the database rows of this key are read once at
 * open.  The BN statistics of the last RING recalibrated subnets are
 * kept, so a subnet scored on the validation images and then on the test
 * images (every winner) is recalibrated once: recalibration is a pure
 * function of the weights, the gene and the calibration set, so the kept
 * statistics are the ones a second recalibration would compute.  The
 * per-image results of subnets scored with nas_fitness_eval_right are
 * kept in memory for the process (winners: a few per study).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic.h"
#include "cost/nas_tables.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/hash.h"
#include "nas/fitness.h"

typedef struct scored {
	char *gene;
	double acc;
} scored;

#define RING 4

typedef struct righted {
	char *gene;
	int split;
	unsigned char *right;
} righted;

struct nas_fitness {
	nas_supernet *sn;
	char *data_dir;
	h4h_db *db;
	int val_images;
	int score_batch;		/* scoring batch (0: the supernet's) */
	char id[17];
	char settings[2][96];
	nas_imageset cal, set[2];
	int have_cal, have_set[2];
	h4h_htab memo[2];
	nas_fitness_stats st;
	/* recalibrated BN statistics of the last RING genes */
	int no_reuse;
	char *ring_gene[RING];
	float *ring_state[RING];
	int ring_next;
	righted *rt;
	int n_rt;
	const nas_fitness_dist *dist;	/* NULL: one process */
};

static const char *const split_names[2] = { "val", "test" };

static int
scored_eq(const void *item, const void *key)
{
	return strcmp(((const scored *)item)->gene, key) == 0;
}

static void
scored_free(void *p)
{
	scored *s = p;

	free(s->gene);
	free(s);
}

static void
memo_put(h4h_htab *t, const char *gene, double acc)
{
	uint64_t h = h4h_hash64(gene, strlen(gene), H4H_HASH_SEED);
	scored *s = h4h_htab_find(t, h, scored_eq, gene);

	if (s != NULL) {
		s->acc = acc;
		return;
	}
	s = h4h_xmalloc(sizeof *s);
	s->gene = h4h_xstrdup(gene);
	s->acc = acc;
	h4h_htab_add(t, h, s);
}

static const scored *
memo_get(const h4h_htab *t, const char *gene)
{
	return h4h_htab_find(t, h4h_hash64(gene, strlen(gene), H4H_HASH_SEED),
	    scored_eq, gene);
}

typedef struct loader {
	h4h_htab *t;
} loader;

static int
load_row(void *ctx, const char *gene, double acc)
{
	memo_put(((loader *)ctx)->t, gene, acc);
	return 0;
}

int
nas_fitness_open(nas_supernet *sn, const char *ckpt_path,
    const char *data_dir, h4h_db *db, int val_images, nas_fitness **out,
    h4h_err *err)
{
	nas_fitness *f;
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = h4h_file_read(ckpt_path, H4H_FILE_PATH_LAST, &buf, &len,
	    err)) != 0)
		return rc;
	f = h4h_xcalloc(1, sizeof *f);
	f->sn = sn;
	f->data_dir = data_dir ? h4h_xstrdup(data_dir) : NULL;
	f->db = db;
	f->val_images = val_images;
	snprintf(f->id, sizeof f->id, "%016" PRIx64,
	    h4h_hash64(buf, len, H4H_HASH_SEED));
	free(buf);
	snprintf(f->settings[0], sizeof f->settings[0],
	    "recal=%d/%d images=%d", sn->recal_images, sn->recal_batch,
	    val_images > 0 && val_images < sn->val ? val_images : sn->val);
	snprintf(f->settings[1], sizeof f->settings[1],
	    "recal=%d/%d images=all", sn->recal_images, sn->recal_batch);
	for (int s = 0; s < 2 && db != NULL; s++) {
		loader l = { &f->memo[s] };

		if ((rc = h4h_db_acc_load(db, f->id, split_names[s],
		    f->settings[s], load_row, &l, err)) != 0) {
			nas_fitness_close(f);
			return rc;
		}
	}
	*out = f;
	return 0;
}

void
nas_fitness_close(nas_fitness *f)
{
	if (f == NULL)
		return;
	nas_imageset_free(&f->cal);
	nas_imageset_free(&f->set[0]);
	nas_imageset_free(&f->set[1]);
	h4h_htab_free(&f->memo[0], scored_free);
	h4h_htab_free(&f->memo[1], scored_free);
	for (int i = 0; i < RING; i++) {
		free(f->ring_gene[i]);
		free(f->ring_state[i]);
	}
	for (int i = 0; i < f->n_rt; i++) {
		free(f->rt[i].gene);
		free(f->rt[i].right);
	}
	free(f->rt);
	free(f->data_dir);
	free(f);
}

static int
ensure_sets(nas_fitness *f, int split, h4h_err *err)
{
	nas_imageset cal;
	int rc;

	if (f->have_set[split])
		return 0;
	rc = nas_supernet_sets(f->sn, f->data_dir, split,
	    split == NAS_SPLIT_VAL ? f->val_images : 0, &cal, &f->set[split],
	    err);
	if (rc != 0)
		return rc;
	if (f->have_cal)
		nas_imageset_free(&cal);
	else {
		f->cal = cal;
		f->have_cal = 1;
	}
	f->have_set[split] = 1;
	return 0;
}

/* Activates g and recalibrates it, or restores its kept statistics. */
static int
activate(nas_fitness *f, const nas_gene *g, const char *text, h4h_err *err)
{
	nn_sn *sn = f->sn->sn;
	size_t ns = nn_sn_nstate(sn);
	nn_sn_active a;
	int rc, k;

	nas_gene_active(f->sn->sp, g, &a);
	if ((rc = nn_sn_set_active(sn, &a, err)) != 0)
		return rc;
	nn_sn_set_regularization(sn, 0, 0);
	for (int i = 0; i < RING && !f->no_reuse; i++)
		if (f->ring_gene[i] != NULL && strcmp(f->ring_gene[i], text) ==
		    0) {
			memcpy(nn_sn_state(sn), f->ring_state[i],
			    ns * sizeof(float));
			f->st.recal_reused++;
			return 0;
		}
	if ((rc = nas_recal(sn, &f->cal, f->sn->recal_batch > 0 &&
	    f->sn->recal_batch <= f->sn->B ? f->sn->recal_batch : f->sn->B,
	    err)) != 0)
		return rc;
	k = f->ring_next;
	f->ring_next = (k + 1) % RING;
	free(f->ring_gene[k]);
	f->ring_gene[k] = h4h_xstrdup(text);
	if (f->ring_state[k] == NULL)
		f->ring_state[k] = h4h_xmalloc((ns ? ns : 1) * sizeof(float));
	memcpy(f->ring_state[k], nn_sn_state(sn), ns * sizeof(float));
	return 0;
}

/* One real evaluation of g (text: its canonical text). */
static int
score(nas_fitness *f, int split, const nas_gene *g, const char *text,
    double *acc, unsigned char *right, h4h_err *err)
{
	int rc;

	if ((rc = activate(f, g, text, err)) != 0)
		return rc;
	return nas_accuracy_right(f->sn->sn, &f->set[split],
	    f->score_batch > 0 ? f->score_batch : f->sn->B, acc, right, err);
}

void
nas_fitness_set_dist(nas_fitness *f, const nas_fitness_dist *d)
{
	f->dist = d != NULL && d->size > 1 ? d : NULL;
}

/* nas_fitness_eval over ranks: the batch's distinct misses dealt
 * round-robin, the scores (and their seconds) summed over the ranks. */
static int
eval_shared(nas_fitness *f, int split, const nas_gene *g, int n, double *acc,
    char (*text)[1024], h4h_db_acc_row *rows, int *n_rows, h4h_err *err)
{
	const nas_fitness_dist *d = f->dist;
	int *miss = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *miss);
	double *v;
	int m = 0, rc = 0;

	for (int i = 0; i < n; i++) {
		const scored *s;
		int dup = 0;

		nas_gene_text(f->sn->sp, &g[i], text[i], sizeof text[i]);
		if ((s = memo_get(&f->memo[split], text[i])) != NULL) {
			acc[i] = s->acc;
			f->st.hits[split]++;
			continue;
		}
		for (int j = 0; j < m && !dup; j++)
			dup = strcmp(text[miss[j]], text[i]) == 0;
		if (dup)
			f->st.hits[split]++;	/* as one process counts it */
		else
			miss[m++] = i;
	}
	*n_rows = 0;
	if (m == 0) {
		free(miss);
		return 0;
	}
	v = h4h_xcalloc((size_t)2 * m, sizeof *v);
	if ((rc = ensure_sets(f, split, err)) != 0)
		goto out;
	for (int j = d->rank; j < m; j += d->size) {
		double t0 = h4h_now_s();

		if ((rc = score(f, split, &g[miss[j]], text[miss[j]], &v[j],
		    NULL, err)) != 0)
			goto out;
		v[m + j] = h4h_now_s() - t0;
	}
	if ((rc = d->sum_d(d->ctx, v, (size_t)2 * m, err)) != 0)
		goto out;
	for (int j = 0; j < m; j++) {
		int i = miss[j];

		acc[i] = v[j];
		rows[j].gene = text[i];
		rows[j].accuracy = v[j];
		rows[j].seconds = v[m + j];
		f->st.seconds[split] += v[m + j];
		f->st.evals[split]++;
		memo_put(&f->memo[split], text[i], v[j]);
	}
	*n_rows = m;
	/* Duplicates of a miss: from the cache now. */
	for (int i = 0; i < n; i++) {
		const scored *s = memo_get(&f->memo[split], text[i]);

		if (s != NULL)
			acc[i] = s->acc;
	}
out:
	free(v);
	free(miss);
	return rc;
}

int
nas_fitness_eval(nas_fitness *f, int split, const nas_gene *g, int n,
    double *acc, h4h_err *err)
{
	h4h_db_acc_row *rows = h4h_xcalloc((size_t)(n ? n : 1), sizeof *rows);
	char (*text)[1024] = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *text);
	int m = 0, rc = 0;

	if (f->dist != NULL) {
		rc = eval_shared(f, split, g, n, acc, text, rows, &m, err);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const scored *s;
		double t0;

		nas_gene_text(f->sn->sp, &g[i], text[i], sizeof text[i]);
		if ((s = memo_get(&f->memo[split], text[i])) != NULL) {
			acc[i] = s->acc;
			f->st.hits[split]++;
			continue;
		}
		if ((rc = ensure_sets(f, split, err)) != 0)
			goto out;
		t0 = h4h_now_s();
		if ((rc = score(f, split, &g[i], text[i], &acc[i], NULL,
		    err)) != 0)
			goto out;
		rows[m].gene = text[i];
		rows[m].accuracy = acc[i];
		rows[m].seconds = h4h_now_s() - t0;
		f->st.seconds[split] += rows[m].seconds;
		f->st.evals[split]++;
		memo_put(&f->memo[split], text[i], acc[i]);
		m++;
	}
out:
	if (f->db != NULL && m > 0) {
		h4h_err e2;
		int rc2 = h4h_db_acc_put(f->db, f->id, split_names[split],
		    f->settings[split], m, rows, rc ? &e2 : err);

		if (rc == 0)
			rc = rc2;
	}
	free(text);
	free(rows);
	return rc;
}

void
nas_fitness_get_stats(const nas_fitness *f, nas_fitness_stats *s)
{
	*s = f->st;
}

const char *
nas_fitness_supernet_id(const nas_fitness *f)
{
	return f->id;
}

int
nas_fitness_images(nas_fitness *f, int split, int *n, h4h_err *err)
{
	int rc;

	if ((rc = ensure_sets(f, split, err)) != 0)
		return rc;
	*n = f->set[split].n;
	return 0;
}

int
nas_fitness_eval_right(nas_fitness *f, int split, const nas_gene *g,
    unsigned char *right, double *acc, h4h_err *err)
{
	char text[1024];
	h4h_db_acc_row row;
	double t0;
	int rc;

	nas_gene_text(f->sn->sp, g, text, sizeof text);
	if ((rc = ensure_sets(f, split, err)) != 0)
		return rc;
	for (int i = 0; i < f->n_rt; i++)
		if (f->rt[i].split == split && strcmp(f->rt[i].gene, text) ==
		    0) {
			long k = 0;

			memcpy(right, f->rt[i].right, (size_t)f->set[split].n);
			for (int j = 0; j < f->set[split].n; j++)
				k += right[j];
			*acc = f->set[split].n ? (double)k / f->set[split].n :
			    0;
			return 0;
		}
	t0 = h4h_now_s();
	if ((rc = score(f, split, g, text, acc, right, err)) != 0)
		return rc;
	f->st.seconds[split] += h4h_now_s() - t0;
	f->st.evals[split]++;
	f->rt = h4h_xrealloc(f->rt, (size_t)(f->n_rt + 1) * sizeof *f->rt);
	f->rt[f->n_rt].gene = h4h_xstrdup(text);
	f->rt[f->n_rt].split = split;
	f->rt[f->n_rt].right = h4h_xmalloc((size_t)(f->set[split].n ?
	    f->set[split].n : 1));
	memcpy(f->rt[f->n_rt].right, right, (size_t)f->set[split].n);
	f->n_rt++;
	if (memo_get(&f->memo[split], text) == NULL) {
		memo_put(&f->memo[split], text, *acc);
		if (f->db != NULL) {
			row.gene = text;
			row.accuracy = *acc;
			row.seconds = h4h_now_s() - t0;
			return h4h_db_acc_put(f->db, f->id, split_names[split],
			    f->settings[split], 1, &row, err);
		}
	}
	return 0;
}

void
nas_fitness_set_score_batch(nas_fitness *f, int bs)
{
	f->score_batch = bs > 0 && bs <= f->sn->B ? bs : 0;
}

void
nas_fitness_set_reuse(nas_fitness *f, int on)
{
	f->no_reuse = !on;
	for (int i = 0; i < RING; i++) {
		free(f->ring_gene[i]);
		f->ring_gene[i] = NULL;
	}
}

const char *
nas_fitness_settings(const nas_fitness *f, int split)
{
	return f->settings[split];
}

int
nas_fitness_memo_put(nas_fitness *f, int split, const char *gene,
    double acc)
{
	if (memo_get(&f->memo[split], gene) != NULL)
		return 0;
	memo_put(&f->memo[split], gene, acc);
	return 1;
}

int
nas_fitness_lookup(const nas_fitness *f, int split, const char *gene,
    double *acc)
{
	const scored *s = memo_get(&f->memo[split], gene);

	if (s == NULL)
		return 0;
	*acc = s->acc;
	return 1;
}

/* Per-image results file: "h4h-right 1 SUPERNET\n", then per record
 * "SPLIT N GENE\n" and N bytes of 0/1. */
typedef struct rctx {
	const nas_fitness *f;
} rctx;

static void
write_right(FILE *fp, const void *vc)
{
	const nas_fitness *f = ((const rctx *)vc)->f;

	fprintf(fp, "h4h-right 1 %s\n", f->id);
	for (int i = 0; i < f->n_rt; i++) {
		int n = f->set[f->rt[i].split].n;

		fprintf(fp, "%d %d %s\n", f->rt[i].split, n, f->rt[i].gene);
		fwrite(f->rt[i].right, 1, (size_t)n, fp);
	}
}

int
nas_fitness_right_save(const nas_fitness *f, const char *path, h4h_err *err)
{
	rctx c = { f };

	return h4h_write_atomic(path, "per-image scores", write_right, &c,
	    err);
}

int
nas_fitness_right_load(nas_fitness *f, const char *path)
{
	FILE *fp = fopen(path, "rb");
	char line[1200], id[32];
	int split, n, got = 0;
	h4h_err e;

	if (fp == NULL)
		return 0;
	if (fgets(line, sizeof line, fp) == NULL ||
	    sscanf(line, "h4h-right 1 %31s", id) != 1 ||
	    strcmp(id, f->id) != 0)
		goto out;
	while (fgets(line, sizeof line, fp) != NULL) {
		char gene[1024];
		unsigned char *r;
		int dup = 0;

		if (sscanf(line, "%d %d %1023s", &split, &n, gene) != 3 ||
		    split < 0 || split > 1 || n <= 0 || n > 10000000)
			break;
		if (ensure_sets(f, split, &e) != 0 || f->set[split].n != n)
			break;
		r = h4h_xmalloc((size_t)n);
		if (fread(r, 1, (size_t)n, fp) != (size_t)n) {
			free(r);
			break;
		}
		for (int i = 0; i < f->n_rt; i++)
			dup |= f->rt[i].split == split &&
			    strcmp(f->rt[i].gene, gene) == 0;
		if (dup) {
			free(r);
			continue;
		}
		f->rt = h4h_xrealloc(f->rt, (size_t)(f->n_rt + 1) *
		    sizeof *f->rt);
		f->rt[f->n_rt].gene = h4h_xstrdup(gene);
		f->rt[f->n_rt].split = split;
		f->rt[f->n_rt].right = r;
		f->n_rt++;
		got++;
	}
out:
	fclose(fp);
	return got;
}
