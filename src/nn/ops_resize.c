/*
 * ops_resize.c - bilinear resize of NHWC batches (ops.h), the elastic
 * resolution of a supernet: the input batch is downscaled to the sampled
 * resolution before the first layer.
 *
 * The arithmetic follows PyTorch's CPU upsample_bilinear2d with
 * align_corners=False and no antialiasing, in float: scale = in/out,
 * source = max(scale (o + 0.5) - 0.5, 0), the lower neighbour its integer
 * part, the upper one clamped to the last row/column.  Per output row and
 * column the two source indices and weights are computed once; the inner
 * loop runs across the contiguous channels of a pixel.
 */
#include <string.h>

#include "nn/ops.h"
#include "nn/ops_impl.h"

/* Source index i0, step to the upper neighbour (0 or 1) and its weight. */
static void
src_index(int o, int in, int out, int *i0, int *step, float *lam)
{
	float scale = (float)in / (float)out;
	float r = scale * ((float)o + 0.5f) - 0.5f;

	if (r < 0)
		r = 0;
	*i0 = (int)r;
	*step = *i0 < in - 1 ? 1 : 0;
	*lam = r - (float)*i0;
}

static NN_SIMD void
resize_img(float *restrict out, const float *restrict in, int H, int W,
    int C, int OH, int OW)
{
	for (int oh = 0; oh < OH; oh++) {
		int h0, hs, w0, ws;
		float hl, wl;

		src_index(oh, H, OH, &h0, &hs, &hl);
		const float *r0 = in + (size_t)h0 * W * C;
		const float *r1 = r0 + (size_t)hs * W * C;

		for (int ow = 0; ow < OW; ow++) {
			float *o = out + ((size_t)oh * OW + ow) * C;

			src_index(ow, W, OW, &w0, &ws, &wl);
			const float *a = r0 + (size_t)w0 * C, *b = a + ws * C;
			const float *c = r1 + (size_t)w0 * C, *d = c + ws * C;
			float h0l = 1.0f - hl, w0l = 1.0f - wl;

			for (int k = 0; k < C; k++)
				o[k] = h0l * (w0l * a[k] + wl * b[k]) +
				    hl * (w0l * c[k] + wl * d[k]);
		}
	}
}

void
nn_resize_bilinear_forward(float *out, const float *inp, int B, int H,
    int W, int C, int OH, int OW)
{
	if (OH == H && OW == W) {
		memcpy(out, inp, sizeof(float) * (size_t)B * H * W * C);
		return;
	}
#pragma omp parallel for schedule(static)
	for (int n = 0; n < B; n++)
		resize_img(out + (size_t)n * OH * OW * C,
		    inp + (size_t)n * H * W * C, H, W, C, OH, OW);
}
