/*
 * canon.c - canonical text and hashes (see canon.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "sim/canon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t
h4h_hash64(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int
io_flags(const sim_layer *l)
{
	return (l->inputs[0] == -1) | (l->is_output << 1);
}

void
sim_layer_key(const sim_layer *l, char *buf, size_t n)
{
	snprintf(buf, n, "%s k%dx%d s%d g%d h%d mm%dx%dx%d%s "
	    "%dx%dx%d>%dx%dx%d %s io%d", sim_op_name(l->op), l->kh, l->kw,
	    l->stride, l->groups, l->heads, l->mm_m, l->mm_k, l->mm_n,
	    l->global ? " global" : "", l->in_h, l->in_w, l->in_c, l->out_h,
	    l->out_w, l->out_c, sim_act_name(l->act), io_flags(l));
}

uint64_t
sim_layer_hash(const sim_layer *l)
{
	int v[20] = { l->op, l->act, l->kh, l->kw, l->stride, l->groups,
	    l->heads, l->mm_m, l->mm_k, l->mm_n, l->global, l->in_h, l->in_w,
	    l->in_c, l->out_h, l->out_w, l->out_c, io_flags(l), 0, 0 };

	return h4h_hash64(v, sizeof v, H4H_HASH_SEED);
}

char *
sim_net_canon(const sim_net *net)
{
	char *buf = NULL, key[SIM_LAYER_KEY_MAX];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return h4h_xstrdup("");
	fprintf(f, "input %dx%dx%d\n", net->in_h, net->in_w, net->in_c);
	for (int i = 0; i < net->n_layers; i++) {
		const sim_layer *l = &net->layers[i];

		sim_layer_key(l, key, sizeof key);
		fprintf(f, "%s <", key);
		for (int k = 0; k < l->n_inputs; k++)
			fprintf(f, " %d", l->inputs[k]);
		fputs("\n", f);
	}
	fclose(f);
	return buf;
}

uint64_t
sim_net_hash(const sim_net *net)
{
	int in[3] = { net->in_h, net->in_w, net->in_c };
	uint64_t h = h4h_hash64(in, sizeof in, H4H_HASH_SEED);

	for (int i = 0; i < net->n_layers; i++) {
		const sim_layer *l = &net->layers[i];
		uint64_t lh = sim_layer_hash(l);
		int e[3] = { l->n_inputs, l->inputs[0],
		    l->n_inputs > 1 ? l->inputs[1] : 0 };

		h = h4h_hash64(&lh, sizeof lh, h);
		h = h4h_hash64(e, sizeof e, h);
	}
	return h;
}

char *
sim_profile_canon(const sim_profile *p)
{
	char *buf = NULL, *line, *out;
	size_t len = 0, m = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return h4h_xstrdup("");
	sim_profile_dump(p, f);
	fclose(f);
	/* The name is a label: equal values are the same system. */
	out = h4h_xmalloc(len + 1);
	for (line = buf; *line != '\0';) {
		char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) + 1 : strlen(line);

		if (strncmp(line, "system.name", 11) != 0) {
			memcpy(out + m, line, n);
			m += n;
		}
		line += n;
	}
	out[m] = '\0';
	free(buf);
	return out;
}
