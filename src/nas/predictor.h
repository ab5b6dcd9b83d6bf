/*
 * predictor.h - the accuracy predictors that screen the search's candidates
 * (doc/search.md): ridge regression on a one-hot encoding of the gene (the
 * default without an accuracy dataset), OFA's MLP and a random forest
 * (pred_models.h) on extended features, and their comparison by k-fold
 * cross-validation with Spearman's rho and Kendall's tau on a held-out
 * part.
 *
 * Extended features (MLP, forest): the one-hot indicators below without
 * the constant, the choice index of every decision scaled to [0, 1] (0
 * for an absent stage's choices), and three summaries that let a model
 * generalise across stages: the MBConv depth, the ViT depth and the
 * summed width of present stages, each over its maximum.
 *
 * Encoding: one indicator per (decision, choice), except that the choices
 * of a stage with depth 0 are all zero (the stage does not exist, so its
 * width or ratio says nothing), plus a constant.  The ridge penalty is
 * picked from a fixed grid by 5-fold cross-validation on the training
 * genes in their given order, so a fit is a pure function of its data.
 * OFA fits an MLP on 16K subnets; with a few hundred real evaluations a
 * linear model over ~200 features is what the data can carry.
 */
#ifndef H4H_NAS_PREDICTOR_H
#define H4H_NAS_PREDICTOR_H

#include <stdint.h>

#include "core/err.h"
#include "nas/gene.h"

enum { NAS_PRED_RIDGE, NAS_PRED_MLP, NAS_PRED_FOREST, NAS_PRED_COUNT };

const char *nas_pred_name(int kind);	/* "ridge", "mlp", "forest" */
int nas_pred_parse(const char *name);	/* -1 if unknown */

typedef struct nas_predictor nas_predictor;

/* A predictor of one kind; seed draws the MLP's weights and batches or
 * the forest's samples.  nas_predictor_create makes a ridge. */
int nas_predictor_create_kind(const nas_space *s, int kind, uint64_t seed,
    nas_predictor **out);
int nas_predictor_kind(const nas_predictor *p);
/* The extended features of g into x[0..nas_predictor_xdim). */
int nas_predictor_xdim(const nas_predictor *p);
void nas_predictor_xfeatures(const nas_predictor *p, const nas_gene *g,
    double *x);

int nas_predictor_create(const nas_space *s, nas_predictor **out);
void nas_predictor_destroy(nas_predictor *p);
/* Features of g into x[0..nas_predictor_dim) (x[0] = 1). */
int nas_predictor_dim(const nas_predictor *p);
void nas_predictor_features(const nas_predictor *p, const nas_gene *g,
    double *x);
/* Fits on n genes and their accuracies (n >= 2); replaces the previous
 * fit.  H4H_EINPUT when the system cannot be solved. */
int nas_predictor_fit(nas_predictor *p, const nas_gene *g, const double *y,
    int n, h4h_err *err);
/* Predicted accuracy (0 before the first fit). */
double nas_predictor_predict(const nas_predictor *p, const nas_gene *g);
/* The penalty the last fit chose. */
double nas_predictor_lambda(const nas_predictor *p);

/* Comparison: the subnets are shuffled with the seed; the last `holdout`
 * fraction is held out; on the rest, `folds`-fold cross-validation
 * (contiguous folds) gives the mean and sd of rho and the mean tau; then
 * each model is fitted on all of the rest and scored on the held-out
 * part. */
typedef struct nas_pred_cmp_cfg {
	int folds;			/* 5 */
	double holdout;			/* 0.2 */
	uint64_t seed;
} nas_pred_cmp_cfg;

typedef struct nas_pred_eval {
	int kind;
	int folds, n_train, n_test;
	double cv_rho, cv_rho_sd, cv_tau;	/* cross-validation */
	double rho, tau;			/* on the held-out part */
} nas_pred_eval;

int nas_predictor_compare(const nas_space *s, const nas_gene *g,
    const double *y, int n, const nas_pred_cmp_cfg *cfg, const int *kinds,
    int nk, nas_pred_eval *out, h4h_err *err);
/* The index of the best model by cross-validated rho (never by the
 * held-out part, which stays an honest estimate). */
int nas_pred_best(const nas_pred_eval *e, int nk);

/* Spearman's rank correlation of a and b (ties get their mean rank); 0
 * when either is constant or n < 2. */
double nas_spearman(const double *a, const double *b, int n);

#endif
