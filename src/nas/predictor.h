/*
 * predictor.h - the accuracy predictor that screens the search's candidates
 * (doc/search.md): ridge regression on a one-hot encoding of the gene.
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

#include "core/err.h"
#include "nas/gene.h"

typedef struct nas_predictor nas_predictor;

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

/* Spearman's rank correlation of a and b (ties get their mean rank); 0
 * when either is constant or n < 2. */
double nas_spearman(const double *a, const double *b, int n);

#endif
