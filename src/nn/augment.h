/*
 * augment.h - training-time augmentation of single-channel float images:
 * random crop with zero padding, horizontal flip, and a RandAugment-style
 * policy (Cubuk et al. 2020) restricted to operations that make sense for
 * 28x28 grayscale.
 *
 * Images are H x W floats in pixel scale [0, 1] (before normalisation); every
 * operation maps [0, 1] into [0, 1] and keeps the shape.  All randomness comes
 * from the nn_rng passed in, so an image's augmentation is a function of that
 * generator's state alone (the batch iterator seeds one per image).
 * Magnitudes follow torchvision's RandAugment: an integer M in 0..30, scaled
 * to a fraction M/30 of each operation's maximum (doc/nn-data.md lists them).
 */
#ifndef H4H_NN_AUGMENT_H
#define H4H_NN_AUGMENT_H

#include "nn/rng.h"
#include "core/err.h"

typedef struct nn_augment_cfg {
	int crop_pad;		/* p > 0: pad p pixels of 0, crop H x W back at a
				 * uniform offset; 0: off */
	int hflip;		/* nonzero: mirror left-right with p = 0.5 */
	int ra_n;		/* RandAugment operations per image; 0: off */
	int ra_m;		/* RandAugment magnitude, 0..30 */
} nn_augment_cfg;

#define NN_AUGMENT_MAX_MAG 30
#define NN_AUGMENT_MAX_OPS 8

/* The RandAugment operations, drawn uniformly. */
enum {
	NN_AUG_IDENTITY,
	NN_AUG_TRANSLATE_X,	/* up to 150/331 of the width, whole pixels */
	NN_AUG_TRANSLATE_Y,
	NN_AUG_ROTATE,		/* up to 30 degrees, bilinear */
	NN_AUG_SHEAR_X,		/* up to 0.3, about the centre, bilinear */
	NN_AUG_SHEAR_Y,
	NN_AUG_BRIGHTNESS,	/* factor 1 +- 0.9 */
	NN_AUG_CONTRAST,	/* factor 1 +- 0.9 around the image mean */
	NN_AUG_SHARPNESS,	/* factor 1 +- 0.9 against PIL's SMOOTH blur */
	NN_AUG_POSTERIZE,	/* 8 down to 4 bits */
	NN_AUG_SOLARIZE,	/* invert pixels >= 1 - fraction */
	NN_AUG_AUTOCONTRAST,	/* stretch min..max to 0..1 */
	NN_AUG_EQUALIZE,	/* histogram equalisation over 256 levels */
	NN_AUG_NOPS
};

/* Checks a configuration for an H x W image; the message names the field. */
int nn_augment_check(const nn_augment_cfg *cfg, int H, int W, h4h_err *err);

/* Applies cfg to img (H x W) in place: crop, then flip, then ra_n random
 * operations.  tmp is caller-owned scratch of H * W floats. */
void nn_augment_apply(const nn_augment_cfg *cfg, float *img, float *tmp,
    int H, int W, nn_rng *rng);

/* dst = src padded by p zeros on every side and cropped back to H x W at
 * offset (dy, dx), each in 0..2p: dst[y][x] = src[y + dy - p][x + dx - p]. */
void nn_augment_crop(float *dst, const float *src, int H, int W, int p,
    int dy, int dx);

/* Mirrors img left-right in place (an involution). */
void nn_augment_hflip(float *img, int H, int W);

/* Applies operation `op` with signed magnitude fraction mag in [-1, 1]
 * (operations without a direction use |mag|; identity, autocontrast and
 * equalize ignore it).  tmp: H * W floats of scratch. */
void nn_augment_op(int op, float mag, float *img, float *tmp, int H, int W);

/* "rotate", "equalize", ...; "?" for an unknown op. */
const char *nn_augment_op_name(int op);

#endif
