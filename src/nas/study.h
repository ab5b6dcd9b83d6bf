/*
 * study.h - a search study: one trained supernet searched on one or more
 * systems under one or more budgets, with everything the outputs report
 * about the winners (doc/search.md).  `h4h search`, `h4h demo` and the
 * `h4h reproduce fig*` commands are thin clients of it.
 *
 * One study opens the supernet, the SQLite database and the accuracy cache
 * (fitness.h) once; each system gets its cost oracle (h4h_oracle, on the
 * same file) and its nas_search, so every budget on a system shares its
 * archive and predictor, and every system shares the accuracy cache.  The
 * partitioner's objective follows the budget's metric (latency budgets
 * split layers for latency, energy budgets for energy).
 */
#ifndef H4H_NAS_STUDY_H
#define H4H_NAS_STUDY_H

#include <stdio.h>

#include "core/err.h"
#include "nas/fitness.h"
#include "nas/search.h"
#include "cost/oracle.h"
#include "sim/spec/profile.h"

#define NAS_GENE_TEXT_MAX 1024

/* One subnet as the outputs describe it. */
typedef struct nas_pick {
	nas_gene g;
	char gene[NAS_GENE_TEXT_MAX];	/* canonical text */
	int metric;
	double budget;			/* the budget it won (< 0: a member of
					 * the front that won none) */
	double val_acc, test_acc;	/* test < 0: not scored */
	double test_lo, test_hi;	/* Wilson 95 % interval of test_acc */
	int test_n;			/* test images */
	double latency_s, energy_j;
	long long macs;			/* full-size network */
	int vit_blocks, mbconv_blocks;	/* in the full-size network */
	int layers, layers_npu, layers_cim, layers_split;
	double cim_mac_share;		/* MACs on the macros / all */
} nas_pick;

typedef struct nas_study nas_study;
typedef struct nas_study_sys nas_study_sys;

typedef struct nas_study_cfg {
	const char *ckpt;
	const char *db;			/* SQLite file (created if missing) */
	const char *data_dir;		/* NULL: Debian's */
	int threads;
	int val_images;			/* 0: all of the run's validation
					 * images */
	nas_search_cfg search;
	/* The accuracy dataset (accdata.h) the predictor starts from: a CSV
	 * path, or NULL with dataset_auto set for CKPT less ".ckpt" plus
	 * ".acc.csv" when that file exists.  Its supernet hash and
	 * validation settings must be this study's (an explicit one that
	 * differs is an error; an automatic one is skipped, and
	 * nas_study_dataset_note says why). */
	const char *dataset;
	int dataset_auto;
	/* Choose the predictor by cross-validation on the dataset (or take
	 * the one recorded in it); without a dataset: search.pred_kind. */
	int pred_auto;
	/* progress of evaluations and generations (optional) */
	void (*progress)(void *ctx, const char *system, const char *what,
	    int done, int total);
	void *progress_ctx;
} nas_study_cfg;

int nas_study_open(const nas_study_cfg *cfg, nas_study **out, h4h_err *err);
/* Stored rows its databases (accuracies, and each system's costs) found
 * invalid and ignored as misses; *first is the first one's message. */
int nas_study_bad_rows(const nas_study *st, const char **first);
void nas_study_close(nas_study *st);
const nas_space *nas_study_space(const nas_study *st);
/* One line about the dataset used or skipped ("" when none was looked
 * for), and the predictor chosen. */
const char *nas_study_dataset_note(const nas_study *st);
int nas_study_pred_kind(const nas_study *st);
nas_fitness *nas_study_fitness(nas_study *st);

/* A system to search on, for budgets of one metric. */
int nas_study_system(nas_study *st, const sim_profile *p, int metric,
    nas_study_sys **out, h4h_err *err);
nas_search *nas_study_searcher(nas_study_sys *sys);
const sim_profile *nas_study_profile(const nas_study_sys *sys);

/* Searches one budget; res (may be NULL) keeps the run's history (free it
 * with nas_search_result_free). */
int nas_study_search(nas_study_sys *sys, double budget, nas_pick *pick,
    nas_search_result *res, h4h_err *err);
/* The best of n_real random subnets within budget (the baseline). */
int nas_study_random(nas_study_sys *sys, double budget, int n_real,
    uint64_t seed, nas_pick *pick, h4h_err *err);
/* The Pareto front (validation accuracy up, the metric's cost down; no
 * test scores, which cost a pass over 10,000 images each) of
 * every really evaluated subnet within max_budget, cheapest first; the
 * caller frees *picks. */
int nas_study_front(nas_study_sys *sys, double max_budget, nas_pick **picks,
    int *n, h4h_err *err);
/* Fills a pick's description (costs, block and layer counts, CIM share)
 * and, with test set, its test accuracy. */
int nas_study_describe(nas_study_sys *sys, const nas_gene *g, int test,
    nas_pick *pick, h4h_err *err);
/* The full-size architecture of g, as `h4h sim --arch` reads it. */
char *nas_study_arch_json(const nas_study *st, const nas_gene *g,
    const char *name);
/* A Chrome/Perfetto trace of g's full-size network on the system. */
int nas_study_trace(nas_study_sys *sys, const nas_gene *g, const char *path,
    h4h_err *err);
int nas_study_flush(nas_study *st, h4h_err *err);

/* Outputs: CSV with a header line, JSON array; both written atomically. */
int nas_picks_write_csv(const char *path, const nas_pick *p, int n,
    h4h_err *err);
int nas_picks_write_json(const char *path, const char *system,
    const nas_pick *p, int n, h4h_err *err);
/* Budget as text in the metric's display unit ("2.5ms", "1.2mJ"). */
void nas_budget_label(int metric, double budget, char *buf, size_t n);

#endif
