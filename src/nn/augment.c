/*
 * augment.c - crop, flip and the grayscale RandAugment operations (see
 * augment.h).
 *
 * Geometric operations sample the source bilinearly at the inverse-mapped
 * position of each output pixel centre and fill with 0 (the Fashion-MNIST
 * background) outside; a bilinear sample is a convex combination of pixels
 * in [0, 1], so it stays in [0, 1].  Intensity operations clamp.  Posterize
 * and equalize work on the 256 levels the uint8 source had.
 */
#include "nn/augment.h"

#include <math.h>
#include <string.h>

static const char *const op_names[NN_AUG_NOPS] = {
	"identity", "translate_x", "translate_y", "rotate", "shear_x",
	"shear_y", "brightness", "contrast", "sharpness", "posterize",
	"solarize", "autocontrast", "equalize",
};

/* Maximum strengths at magnitude 30, torchvision's RandAugment values. */
#define TRANSLATE_MAX (150.0f / 331.0f)
#define ROTATE_MAX_DEG 30.0f
#define SHEAR_MAX 0.3f
#define ENHANCE_MAX 0.9f
#define POSTERIZE_DROP 4	/* bits removed at full magnitude */

const char *
nn_augment_op_name(int op)
{
	return op >= 0 && op < NN_AUG_NOPS ? op_names[op] : "?";
}

static inline float
clamp01(float v)
{
	return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

static inline int
level(float v)
{
	return (int)lrintf(clamp01(v) * 255.0f);
}

int
nn_augment_check(const nn_augment_cfg *cfg, int H, int W, h4h_err *err)
{
	int side = H < W ? H : W;

	if (cfg->crop_pad < 0 || cfg->crop_pad > side / 2)
		return h4h_errf(err, H4H_EINPUT,
		    "augment: crop padding must be in 0..%d for %dx%d images "
		    "(got %d)", side / 2, H, W, cfg->crop_pad);
	if (cfg->ra_n < 0 || cfg->ra_n > NN_AUGMENT_MAX_OPS)
		return h4h_errf(err, H4H_EINPUT,
		    "augment: randaugment op count must be in 0..%d (got %d)",
		    NN_AUGMENT_MAX_OPS, cfg->ra_n);
	if (cfg->ra_m < 0 || cfg->ra_m > NN_AUGMENT_MAX_MAG)
		return h4h_errf(err, H4H_EINPUT,
		    "augment: randaugment magnitude must be in 0..%d (got %d)",
		    NN_AUGMENT_MAX_MAG, cfg->ra_m);
	return 0;
}

void
nn_augment_crop(float *dst, const float *src, int H, int W, int p, int dy,
    int dx)
{
	int y, x, sy, sx;

	for (y = 0; y < H; y++) {
		sy = y + dy - p;
		for (x = 0; x < W; x++) {
			sx = x + dx - p;
			dst[y * W + x] = (sy >= 0 && sy < H && sx >= 0 &&
			    sx < W) ? src[sy * W + sx] : 0.0f;
		}
	}
}

void
nn_augment_hflip(float *img, int H, int W)
{
	int y, x;
	float t, *row;

	for (y = 0; y < H; y++) {
		row = img + (size_t)y * W;
		for (x = 0; x < W / 2; x++) {
			t = row[x];
			row[x] = row[W - 1 - x];
			row[W - 1 - x] = t;
		}
	}
}

static inline float
pix(const float *src, int H, int W, int y, int x)
{
	return (y >= 0 && y < H && x >= 0 && x < W) ? src[y * W + x] : 0.0f;
}

/* img = src sampled at (sx, sy) = (a x + b y + c, d x + e y + f) for each
 * output pixel (x, y); src is a copy in tmp. */
static void
warp(float *img, float *tmp, int H, int W, float a, float b, float c, float d,
    float e, float f)
{
	int y, x, x0, y0;
	float sx, sy, fx, fy, v;

	memcpy(tmp, img, sizeof *img * (size_t)H * W);
	for (y = 0; y < H; y++) {
		for (x = 0; x < W; x++) {
			sx = a * x + b * y + c;
			sy = d * x + e * y + f;
			x0 = (int)floorf(sx);
			y0 = (int)floorf(sy);
			fx = sx - x0;
			fy = sy - y0;
			v = (1 - fy) * ((1 - fx) * pix(tmp, H, W, y0, x0) +
			    fx * pix(tmp, H, W, y0, x0 + 1)) +
			    fy * ((1 - fx) * pix(tmp, H, W, y0 + 1, x0) +
			    fx * pix(tmp, H, W, y0 + 1, x0 + 1));
			img[y * W + x] = clamp01(v);
		}
	}
}

static void
translate(float *img, float *tmp, int H, int W, int ty, int tx)
{
	/* out[y][x] = in[y - ty][x - tx]: a crop with p = max shift. */
	int p = (ty < 0 ? -ty : ty) + (tx < 0 ? -tx : tx);

	memcpy(tmp, img, sizeof *img * (size_t)H * W);
	nn_augment_crop(img, tmp, H, W, p, p - ty, p - tx);
}

static float
mean(const float *img, int n)
{
	double s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += img[i];
	return (float)(s / n);
}

static void
sharpness(float *img, float *tmp, int H, int W, float fac)
{
	int y, x, i, j;
	float s, blur;

	memcpy(tmp, img, sizeof *img * (size_t)H * W);
	/* PIL's SMOOTH kernel (1 1 1 / 1 5 1 / 1 1 1) / 13 on the interior;
	 * border pixels keep their value, as in PIL. */
	for (y = 1; y < H - 1; y++) {
		for (x = 1; x < W - 1; x++) {
			s = 4.0f * tmp[y * W + x];
			for (i = -1; i <= 1; i++)
				for (j = -1; j <= 1; j++)
					s += tmp[(y + i) * W + x + j];
			blur = s / 13.0f;
			img[y * W + x] = clamp01(blur +
			    fac * (tmp[y * W + x] - blur));
		}
	}
}

static void
equalize(float *img, int n)
{
	int hist[256] = { 0 }, lut[256];
	int i, last = 255, step, acc;

	for (i = 0; i < n; i++)
		hist[level(img[i])]++;
	while (last > 0 && hist[last] == 0)
		last--;
	/* PIL's ImageOps.equalize. */
	step = (n - hist[last]) / 255;
	if (step == 0)
		return;
	acc = step / 2;
	for (i = 0; i < 256; i++) {
		lut[i] = acc / step > 255 ? 255 : acc / step;
		acc += hist[i];
	}
	for (i = 0; i < n; i++)
		img[i] = (float)lut[level(img[i])] / 255.0f;
}

void
nn_augment_op(int op, float mag, float *img, float *tmp, int H, int W)
{
	int n = H * W, i, bits, mask;
	float amag = fabsf(mag), cy = 0.5f * (H - 1), cx = 0.5f * (W - 1);
	float f, m, lo, hi, th, cs, sn;

	switch (op) {
	case NN_AUG_TRANSLATE_X:
		translate(img, tmp, H, W, 0,
		    (int)lrintf(mag * TRANSLATE_MAX * W));
		break;
	case NN_AUG_TRANSLATE_Y:
		translate(img, tmp, H, W,
		    (int)lrintf(mag * TRANSLATE_MAX * H), 0);
		break;
	case NN_AUG_ROTATE:
		/* Inverse map of a rotation by th about the centre. */
		th = mag * ROTATE_MAX_DEG * (float)M_PI / 180.0f;
		cs = cosf(th);
		sn = sinf(th);
		warp(img, tmp, H, W, cs, sn, cx - cs * cx - sn * cy, -sn, cs,
		    cy + sn * cx - cs * cy);
		break;
	case NN_AUG_SHEAR_X:
		f = mag * SHEAR_MAX;
		warp(img, tmp, H, W, 1, f, -f * cy, 0, 1, 0);
		break;
	case NN_AUG_SHEAR_Y:
		f = mag * SHEAR_MAX;
		warp(img, tmp, H, W, 1, 0, 0, f, 1, -f * cx);
		break;
	case NN_AUG_BRIGHTNESS:
		f = 1.0f + mag * ENHANCE_MAX;
		for (i = 0; i < n; i++)
			img[i] = clamp01(img[i] * f);
		break;
	case NN_AUG_CONTRAST:
		f = 1.0f + mag * ENHANCE_MAX;
		m = mean(img, n);
		for (i = 0; i < n; i++)
			img[i] = clamp01(m + f * (img[i] - m));
		break;
	case NN_AUG_SHARPNESS:
		sharpness(img, tmp, H, W, 1.0f + mag * ENHANCE_MAX);
		break;
	case NN_AUG_POSTERIZE:
		bits = 8 - (int)lrintf(amag * POSTERIZE_DROP);
		mask = ~((1 << (8 - bits)) - 1) & 0xff;
		for (i = 0; i < n; i++)
			img[i] = (float)(level(img[i]) & mask) / 255.0f;
		break;
	case NN_AUG_SOLARIZE:
		th = 1.0f - amag;
		for (i = 0; i < n; i++)
			if (img[i] >= th)
				img[i] = 1.0f - img[i];
		break;
	case NN_AUG_AUTOCONTRAST:
		lo = hi = img[0];
		for (i = 1; i < n; i++) {
			lo = img[i] < lo ? img[i] : lo;
			hi = img[i] > hi ? img[i] : hi;
		}
		if (hi > lo)
			for (i = 0; i < n; i++)
				img[i] = clamp01((img[i] - lo) / (hi - lo));
		break;
	case NN_AUG_EQUALIZE:
		equalize(img, n);
		break;
	default:		/* identity */
		break;
	}
}

void
nn_augment_apply(const nn_augment_cfg *cfg, float *img, float *tmp, int H,
    int W, nn_rng *rng)
{
	int i, op, p = cfg->crop_pad, dy, dx;
	float mag;

	if (p > 0) {
		dy = nn_rng_range(rng, 0, 2 * p);
		dx = nn_rng_range(rng, 0, 2 * p);
		memcpy(tmp, img, sizeof *img * (size_t)H * W);
		nn_augment_crop(img, tmp, H, W, p, dy, dx);
	}
	if (cfg->hflip && nn_rng_uniform(rng) < 0.5f)
		nn_augment_hflip(img, H, W);
	for (i = 0; i < cfg->ra_n; i++) {
		op = (int)nn_rng_below(rng, NN_AUG_NOPS);
		/* The sign is drawn for every op so the number of draws per
		 * op is fixed. */
		mag = (float)cfg->ra_m / NN_AUGMENT_MAX_MAG;
		if (nn_rng_u32(rng) & 1)
			mag = -mag;
		nn_augment_op(op, mag, img, tmp, H, W);
	}
}
