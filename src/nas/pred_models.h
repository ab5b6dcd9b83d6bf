/*
 * pred_models.h - the nonlinear accuracy predictors behind predictor.h,
 * on a dense feature matrix X (n rows of dim doubles), targets y:
 *
 *   mlp     OFA's accuracy predictor (ofa/nas/accuracy_predictor): 3
 *           hidden layers of 400 ReLU units and a linear output, trained
 *           on standardised targets with Adam (lr 1e-3, batch 64, 60
 *           epochs up to 1,500 steps, cosine decay), weights from the
 *           seed;
 *   forest  a random forest of regression trees (AttentiveNAS ships one):
 *           bootstrap samples, a third of the features tried per split,
 *           leaves of at least 2 samples; splits on the features' distinct
 *           values (genes are discrete, so no feature has many).
 *
 * Both are pure functions of (X, y, seed): the MLP's GEMMs go through
 * OpenBLAS in a fixed order, the forest draws from an nn_rng.
 */
#ifndef H4H_NAS_PRED_MODELS_H
#define H4H_NAS_PRED_MODELS_H

#include <stdint.h>

typedef struct nas_mlp nas_mlp;
typedef struct nas_forest nas_forest;

nas_mlp *nas_mlp_fit(int dim, const double *X, const double *y, int n,
    uint64_t seed);
double nas_mlp_predict(const nas_mlp *m, const double *x);
void nas_mlp_free(nas_mlp *m);

nas_forest *nas_forest_fit(int dim, const double *X, const double *y, int n,
    uint64_t seed);
double nas_forest_predict(const nas_forest *f, const double *x);
void nas_forest_free(nas_forest *f);

#endif
