/*
 * canon.c - canonical text and hashes (see canon.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "sim/spec/canon.h"
#include "sim/spec/result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
io_flags(const sim_layer *l)
{
	return (l->inputs[0] == -1) | (l->is_output << 1);
}

/* A bounded string builder: keys are built for every layer of every
 * network the search costs, where snprintf's format parsing shows. */
typedef struct sbuf {
	char *p, *end;
} sbuf;

static void
put_str(sbuf *b, const char *s)
{
	while (*s != '\0' && b->p < b->end)
		*b->p++ = *s++;
}

static void
put_int(sbuf *b, int v)
{
	char tmp[12];
	int n = 0;
	unsigned u = v < 0 ? -(unsigned)v : (unsigned)v;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0 && b->p < b->end)
		*b->p++ = '-';
	while (n > 0 && b->p < b->end)
		*b->p++ = tmp[--n];
}

static void
put_key(sbuf *b, const sim_layer *l)
{
	put_str(b, sim_op_name(l->op));
	put_str(b, " k");
	put_int(b, l->kh);
	put_str(b, "x");
	put_int(b, l->kw);
	put_str(b, " s");
	put_int(b, l->stride);
	put_str(b, " g");
	put_int(b, l->groups);
	put_str(b, " h");
	put_int(b, l->heads);
	put_str(b, " mm");
	put_int(b, l->mm_m);
	put_str(b, "x");
	put_int(b, l->mm_k);
	put_str(b, "x");
	put_int(b, l->mm_n);
	put_str(b, l->global ? " global " : " ");
	put_int(b, l->in_h);
	put_str(b, "x");
	put_int(b, l->in_w);
	put_str(b, "x");
	put_int(b, l->in_c);
	put_str(b, ">");
	put_int(b, l->out_h);
	put_str(b, "x");
	put_int(b, l->out_w);
	put_str(b, "x");
	put_int(b, l->out_c);
	put_str(b, " ");
	put_str(b, sim_act_name(l->act));
	put_str(b, " io");
	put_int(b, io_flags(l));
}

void
sim_layer_key(const sim_layer *l, char *buf, size_t n)
{
	sbuf b = { buf, buf + n - 1 };

	put_key(&b, l);
	*b.p = '\0';
}


static int
name_index(const char *name, int n, const char *(*name_of)(int))
{
	for (int i = 0; i < n; i++)
		if (strcmp(name_of(i), name) == 0)
			return i;
	return -1;
}

static const char *
op_name_of(int i)
{
	return sim_op_name((sim_op)i);
}

static const char *
act_name_of(int i)
{
	return sim_act_name((sim_act)i);
}

int
sim_layer_key_parse(const char *key, sim_layer *out)
{
	char op[32], act[32], rest[SIM_LAYER_KEY_MAX], glob[8];
	int io, n, op_i, act_i;
	sim_layer l;
	char again[SIM_LAYER_KEY_MAX];

	memset(&l, 0, sizeof l);
	if (strlen(key) >= SIM_LAYER_KEY_MAX || sscanf(key, "%31s k%dx%d s%d "
	    "g%d h%d mm%dx%dx%d %n", op, &l.kh, &l.kw, &l.stride, &l.groups,
	    &l.heads, &l.mm_m, &l.mm_k, &l.mm_n, &n) != 9)
		return -1;
	snprintf(rest, sizeof rest, "%s", key + n);
	if (sscanf(rest, "%7s ", glob) == 1 && strcmp(glob, "global") == 0) {
		l.global = 1;
		snprintf(rest, sizeof rest, "%s", key + n + 7);
	}
	if (sscanf(rest, "%dx%dx%d>%dx%dx%d %31s io%d%n", &l.in_h, &l.in_w,
	    &l.in_c, &l.out_h, &l.out_w, &l.out_c, act, &io, &n) != 8 ||
	    rest[n] != '\0' || io < 0 || io > 3)
		return -1;
	op_i = name_index(op, SIM_OP_COUNT, op_name_of);
	act_i = name_index(act, SIM_ACT_COUNT, act_name_of);
	if (op_i < 0 || act_i < 0)
		return -1;
	l.op = (sim_op)op_i;
	l.act = (sim_act)act_i;
	l.n_inputs = l.op == SIM_OP_ADD || l.op == SIM_OP_MATMUL ? 2 : 1;
	l.inputs[0] = io & 1 ? -1 : 0;
	l.is_output = io >> 1;
	/* Only a key that prints back as itself is one. */
	sim_layer_key(&l, again, sizeof again);
	if (strcmp(again, key) != 0)
		return -1;
	*out = l;
	return 0;
}

int
sim_layer_same_key(const sim_layer *a, const sim_layer *b)
{
	return a->op == b->op && a->act == b->act && a->kh == b->kh &&
	    a->kw == b->kw && a->stride == b->stride &&
	    a->groups == b->groups && a->heads == b->heads &&
	    a->mm_m == b->mm_m && a->mm_k == b->mm_k && a->mm_n == b->mm_n &&
	    a->global == b->global && a->in_h == b->in_h &&
	    a->in_w == b->in_w && a->in_c == b->in_c && a->out_h == b->out_h &&
	    a->out_w == b->out_w && a->out_c == b->out_c &&
	    io_flags(a) == io_flags(b);
}

uint64_t
sim_layer_hash(const sim_layer *l)
{
	int v[18] = { l->op, l->act, l->kh, l->kw, l->stride, l->groups,
	    l->heads, l->mm_m, l->mm_k, l->mm_n, l->global, l->in_h, l->in_w,
	    l->in_c, l->out_h, l->out_w, l->out_c, io_flags(l) };
	uint64_t h = H4H_HASH_SEED;

	for (int i = 0; i < 18; i++)
		h = h4h_hash_mix(h, (uint64_t)(uint32_t)v[i]);
	return h;
}

char *
sim_net_canon(const sim_net *net)
{
	/* A key, its inputs and a newline fit in this per layer. */
	size_t cap = 64 + (size_t)net->n_layers * (SIM_LAYER_KEY_MAX + 32);
	char *buf = h4h_xmalloc(cap);
	sbuf b = { buf, buf + cap - 1 };

	put_str(&b, "input ");
	put_int(&b, net->in_h);
	put_str(&b, "x");
	put_int(&b, net->in_w);
	put_str(&b, "x");
	put_int(&b, net->in_c);
	put_str(&b, "\n");
	for (int i = 0; i < net->n_layers; i++) {
		const sim_layer *l = &net->layers[i];

		put_key(&b, l);
		put_str(&b, " <");
		for (int k = 0; k < l->n_inputs; k++) {
			put_str(&b, " ");
			put_int(&b, l->inputs[k]);
		}
		put_str(&b, "\n");
	}
	*b.p = '\0';
	return buf;
}

uint64_t
sim_net_hash(const sim_net *net)
{
	int in[3] = { net->in_h, net->in_w, net->in_c };
	uint64_t h = h4h_hash64(in, sizeof in, H4H_HASH_SEED);

	for (int i = 0; i < net->n_layers; i++) {
		const sim_layer *l = &net->layers[i];
		h = h4h_hash_mix(h, sim_layer_hash(l));
		h = h4h_hash_mix(h, (uint64_t)(uint32_t)l->n_inputs);
		h = h4h_hash_mix(h, (uint64_t)(uint32_t)l->inputs[0]);
		h = h4h_hash_mix(h, (uint64_t)(uint32_t)(l->n_inputs > 1 ?
		    l->inputs[1] : 0));
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
	/* The name is a label: equal values are the same system.  The
	 * objective only picks among splits whose costs it does not change,
	 * and network costs are stored per objective, so it is not part of
	 * the system either. */
	out = h4h_xmalloc(len + 64);
	/* The model that costs the system is part of it. */
	m = (size_t)snprintf(out, 64, "model.revision = %d\n",
	    SIM_MODEL_REVISION);
	for (line = buf; *line != '\0';) {
		char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) + 1 : strlen(line);

		if (strncmp(line, "system.name", 11) != 0 &&
		    strncmp(line, "partition.objective", 19) != 0) {
			memcpy(out + m, line, n);
			m += n;
		}
		line += n;
	}
	out[m] = '\0';
	free(buf);
	return out;
}
