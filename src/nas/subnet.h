/*
 * subnet.h - one subnet taken out of a trained supernet: its full-size
 * architecture (the H4H architecture JSON that `h4h sim --arch` costs) and
 * a standalone network checkpoint (`h4h eval` scores it).
 *
 * The standalone network is the supernet's slice at the subnet's widths
 * (nn_sn_extract) with the batch-norm statistics of a recalibration on the
 * run's calibration set, so it scores what `h4h supernet eval` reports for
 * that subnet.  Its checkpoint holds "param.*", "state.*", the i32 tensor
 * "spec" (in_hw, in_ch, classes, n_stages, then kind, width, depth,
 * expand, stride and mlp x 1e6 per stage) and metadata "model=h4h-subnet
 * space=NAME res=R gene=TEXT".  Inputs are 28 x 28 images downscaled to R
 * as the supernet does it.
 */
#ifndef H4H_NAS_SUBNET_H
#define H4H_NAS_SUBNET_H

#include "core/err.h"
#include "nas/gene.h"
#include "nas/sntrain.h"

int nas_subnet_extract(nas_supernet *s, const nas_gene *g,
    const char *data_dir, const char *arch_out, const char *ckpt_out,
    h4h_err *err);
/* 1 if the checkpoint's metadata says it is a standalone subnet. */
int nas_subnet_is_ckpt(const char *meta);
/* Test accuracy of a standalone subnet checkpoint (all 10,000 images). */
int nas_subnet_eval_ckpt(const char *path, const char *data_dir, int threads,
    double *acc, char *name, size_t name_len, h4h_err *err);

#endif
