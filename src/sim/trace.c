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
#include "sim/trace.h"

#include <stdlib.h>

#include "core/atomic.h"

typedef struct span {
	const char *name;
	uint64_t t0, t1;
	int track;
	int master;
	double value;
} span;

struct sim_trace {
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
	char name[64];
	size_t i;

	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n", f);
	fputs("{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"name\":\"process_name\","
	    "\"args\":{\"name\":\"h4h sim\"}}", f);
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
		if (s->track == SIM_TRACK_NOC)
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
