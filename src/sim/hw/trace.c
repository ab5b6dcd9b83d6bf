/*
 * trace.c - Chrome trace-event JSON writer (see trace.h).
 *
 * Output: {"displayTimeUnit":"ns","traceEvents":[...]} with "M" metadata
 * records (process_name, and thread_name plus thread_sort_index per track)
 * and one "X" (complete) event per span; ts
 * and dur are microseconds as the format requires.  Written by hand rather
 * than through jansson because a large trace holds millions of spans and
 * building a DOM for them would cost more than the simulation.
 */
#include "sim/hw/trace.h"

#include <stdlib.h>

#include "config.h"
#include "core/atomic.h"
#include "sim/spec/result.h"

typedef struct span {
	const char *name;
	uint64_t t0, t1;
	int track;
	int master;
	double value;
	/* layer spans: */
	const char *op;			/* NULL: not a layer span */
	int npu_ch, cim_ch, macros;
	double energy_j;
} span;

struct sim_trace {
	char system[64], hash[17];
	int macros, cus;
	uint64_t offset;
	span *spans;
	size_t n, cap;
};

sim_trace *
sim_trace_create(int macros, int cus_per_macro)
{
	sim_trace *tr = h4h_xcalloc(1, sizeof *tr);

	tr->macros = macros;
	tr->cus = cus_per_macro;
	return tr;
}

void
sim_trace_destroy(sim_trace *tr)
{
	if (tr == NULL)
		return;
	free(tr->spans);
	free(tr);
}

void
sim_trace_set_offset(sim_trace *tr, uint64_t offset_ps)
{
	tr->offset = offset_ps;
}

int
sim_trace_cim_track(const sim_trace *tr, int macro, int cu)
{
	return SIM_TRACK_CIM_BASE + macro * (1 + tr->cus) + (cu < 0 ? 0 : 1 + cu);
}

void
sim_trace_span(sim_trace *tr, int track, const char *name, uint64_t t0_ps,
    uint64_t t1_ps, int master, double value)
{
	span *s;

	if (tr->n == tr->cap) {
		tr->cap = tr->cap ? 2 * tr->cap : 4096;
		tr->spans = h4h_xrealloc(tr->spans, tr->cap * sizeof *tr->spans);
	}
	s = &tr->spans[tr->n++];
	s->name = name;
	s->t0 = tr->offset + t0_ps;
	s->t1 = tr->offset + t1_ps;
	s->track = track;
	s->master = master;
	s->value = value;
	s->op = NULL;
}

void
sim_trace_layer(sim_trace *tr, const char *name, const char *op,
    uint64_t t1_ps, int npu_channels, int cim_channels, int macros,
    double energy_j)
{
	span *s;

	sim_trace_span(tr, SIM_TRACK_LAYER, name, 0, t1_ps, 0, 0);
	s = &tr->spans[tr->n - 1];
	s->op = op;
	s->npu_ch = npu_channels;
	s->cim_ch = cim_channels;
	s->macros = macros;
	s->energy_j = energy_j;
}

void
sim_trace_set_system(sim_trace *tr, const char *name, const char *hash)
{
	snprintf(tr->system, sizeof tr->system, "%s", name);
	snprintf(tr->hash, sizeof tr->hash, "%s", hash);
}

size_t
sim_trace_count(const sim_trace *tr)
{
	return tr->n;
}

static void
track_name(const sim_trace *tr, int track, char *buf, size_t n)
{
	int rel, macro, cu;

	switch (track) {
	case SIM_TRACK_LAYER:
		snprintf(buf, n, "layers");
		return;
	case SIM_TRACK_NPU_MAC:
		snprintf(buf, n, "npu mac stage");
		return;
	case SIM_TRACK_NPU_OUT:
		snprintf(buf, n, "npu output stage");
		return;
	case SIM_TRACK_NOC:
		snprintf(buf, n, "noc");
		return;
	}
	rel = track - SIM_TRACK_CIM_BASE;
	macro = rel / (1 + tr->cus);
	cu = rel % (1 + tr->cus) - 1;
	if (cu < 0)
		snprintf(buf, n, "cim%d", macro);
	else
		snprintf(buf, n, "cim%d cu%d", macro, cu);
}

static void
put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
write_events(const sim_trace *tr, FILE *f)
{
	int n_tracks = SIM_TRACK_CIM_BASE + tr->macros * (1 + tr->cus);
	char name[96];
	size_t i;

	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"h4h_version\":", f);
	put_json_string(f, PACKAGE_VERSION);
	fprintf(f, ",\"model_revision\":%d,\"system\":", SIM_MODEL_REVISION);
	put_json_string(f, tr->system);
	fputs(",\"system_hash\":", f);
	put_json_string(f, tr->hash);
	fputs("},\"traceEvents\":[\n", f);
	/* The process is named after the system, so that traces of several
	 * systems opened together read apart. */
	snprintf(name, sizeof name, "h4h sim: %s", tr->system[0] ? tr->system :
	    "?");
	fputs("{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"name\":\"process_name\","
	    "\"args\":{\"name\":", f);
	put_json_string(f, name);
	fputs("}}", f);
	for (int t = 0; t < n_tracks; t++) {
		track_name(tr, t, name, sizeof name);
		fprintf(f, ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
		    "\"name\":\"thread_name\",\"args\":{\"name\":", t);
		put_json_string(f, name);
		fprintf(f, "}},\n{\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
		    "\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%d}}",
		    t, t);
	}
	for (i = 0; i < tr->n; i++) {
		const span *s = &tr->spans[i];

		fprintf(f, ",\n{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"name\":",
		    s->track);
		put_json_string(f, s->name);
		fprintf(f, ",\"ts\":%.6f,\"dur\":%.6f", s->t0 / 1e6,
		    (s->t1 - s->t0) / 1e6);
		if (s->op != NULL) {
			fputs(",\"args\":{\"op\":", f);
			put_json_string(f, s->op);
			if (s->cim_ch == 0)
				fputs(",\"split\":\"npu\"", f);
			else if (s->npu_ch == 0)
				fprintf(f, ",\"split\":\"cim %d/%dm\"", s->cim_ch,
				    s->macros);
			else
				fprintf(f, ",\"split\":\"npu %d + cim %d/%dm\"",
				    s->npu_ch, s->cim_ch, s->macros);
			fprintf(f, ",\"energy_j\":%.9g}", s->energy_j);
		} else if (s->track == SIM_TRACK_NOC)
			fprintf(f, ",\"args\":{\"bytes\":%.0f,\"master\":\"%s%d\"}",
			    s->value, s->master == 0 ? "npu" : "cim",
			    s->master == 0 ? 0 : s->master - 1);
		else if (s->value > 0)
			fprintf(f, ",\"args\":{\"channels\":%.0f}", s->value);
		fputc('}', f);
	}
	fputs("\n]}\n", f);
}

static void
write_events_cb(FILE *f, const void *ctx)
{
	write_events(ctx, f);
}

int
sim_trace_write(const sim_trace *tr, const char *path, h4h_err *err)
{
	return h4h_write_atomic(path, "trace", write_events_cb, tr, err);
}
