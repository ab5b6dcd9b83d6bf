/*
 * kernel.cpp - the SystemC bridge (see kernel.h): the only C++ file in h4h.
 *
 * Invariants: every extern "C" function catches all C++ exceptions; timers
 * are recycled through a free list so a process that runs thousands of
 * simulations creates only as many SC_METHODs as it ever had timers live at
 * once; the kernel is never sc_stop()ped (that would end it for good).
 */
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <systemc>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

#include "sim/hw/kernel.h"

using namespace sc_core;

/* libsystemc.so refers to sc_main; h4h's main() is C, so this one is never
 * called. */
int
sc_main(int, char **)
{
	return 0;
}

struct h4h_timer {
	sc_event ev;
	h4h_kernel_fn fn;
	void *ctx;
	h4h_timer *next_free;
};

struct h4h_event {
	sc_event ev;
};

namespace {

bool initialized;
h4h_timer *free_timers;
uint64_t activations;

void
report_to_stderr(const sc_report &rep, const sc_actions &actions)
{
	if (actions & SC_DISPLAY)
		std::fprintf(stderr, "h4h: systemc: %s: %s\n",
		    rep.get_msg_type(), rep.get_msg());
	if (actions & (SC_THROW | SC_ABORT))
		throw rep;
}

void
timer_trampoline(h4h_timer *t)
{
	activations++;
	t->fn(t->ctx);
}

struct thread_args {
	h4h_kernel_fn fn;
	void *ctx;
};

void
thread_trampoline(thread_args a)
{
	a.fn(a.ctx);
}

int
fail(h4h_err *err, const char *what)
{
	return h4h_errf(err, H4H_ESIM, "systemc: %s", what);
}

} // namespace

extern "C" int
h4h_kernel_init(h4h_err *err)
{
	if (initialized)
		return 0;
	try {
		/* Must precede the first use of the simulation context, which
		 * prints the banner to stdout otherwise. */
		setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
		sc_report_handler::set_handler(report_to_stderr);
		sc_report_handler::set_actions(SC_INFO, SC_DO_NOTHING);
		sc_report_handler::set_actions(SC_WARNING, SC_DISPLAY);
		sc_report_handler::set_actions(SC_ERROR, SC_THROW);
		sc_report_handler::set_actions(SC_FATAL, SC_THROW);
		(void)sc_time_stamp();
		initialized = true;
		return 0;
	} catch (const std::exception &e) {
		return fail(err, e.what());
	} catch (...) {
		return fail(err, "unknown exception during init");
	}
}

extern "C" h4h_timer *
h4h_timer_acquire(h4h_kernel_fn fn, void *ctx)
{
	h4h_timer *t;

	if (h4h_kernel_init(NULL) != 0)
		return NULL;
	if (free_timers != NULL) {
		t = free_timers;
		free_timers = t->next_free;
	} else {
		try {
			t = new h4h_timer();
			sc_spawn_options opt;
			opt.spawn_method();
			opt.dont_initialize();
			opt.set_sensitivity(&t->ev);
			sc_spawn(sc_bind(&timer_trampoline, t), nullptr, &opt);
		} catch (...) {
			return NULL;
		}
	}
	t->fn = fn;
	t->ctx = ctx;
	t->next_free = NULL;
	return t;
}

extern "C" void
h4h_timer_release(h4h_timer *t)
{
	if (t == NULL)
		return;
	t->ev.cancel();
	t->next_free = free_timers;
	free_timers = t;
}

extern "C" void
h4h_timer_notify(h4h_timer *t, uint64_t delay_ps)
{
	if (delay_ps == 0)
		t->ev.notify(SC_ZERO_TIME);
	else
		t->ev.notify(sc_time::from_value(delay_ps));
}

extern "C" void
h4h_timer_cancel(h4h_timer *t)
{
	t->ev.cancel();
}

extern "C" h4h_event *
h4h_event_create(void)
{
	if (h4h_kernel_init(NULL) != 0)
		return NULL;
	try {
		return new h4h_event();
	} catch (...) {
		return NULL;
	}
}

extern "C" void
h4h_event_destroy(h4h_event *e)
{
	delete e;
}

extern "C" void
h4h_event_notify(h4h_event *e, uint64_t delay_ps)
{
	if (delay_ps == 0)
		e->ev.notify(SC_ZERO_TIME);
	else
		e->ev.notify(sc_time::from_value(delay_ps));
}

extern "C" int
h4h_kernel_spawn(h4h_kernel_fn fn, void *ctx, h4h_err *err)
{
	int rc = h4h_kernel_init(err);

	if (rc != 0)
		return rc;
	try {
		thread_args a = { fn, ctx };
		sc_spawn(sc_bind(&thread_trampoline, a));
		return 0;
	} catch (const sc_report &r) {
		return fail(err, r.what());
	} catch (const std::exception &e) {
		return fail(err, e.what());
	} catch (...) {
		return fail(err, "unknown exception in spawn");
	}
}

extern "C" void
h4h_kernel_wait(uint64_t delay_ps)
{
	wait(sc_time::from_value(delay_ps));
}

extern "C" void
h4h_kernel_wait_event(h4h_event *e)
{
	wait(e->ev);
}

extern "C" int
h4h_kernel_run(h4h_err *err)
{
	int rc = h4h_kernel_init(err);

	if (rc != 0)
		return rc;
	try {
		/* Before the first sc_start the design must be elaborated even
		 * with nothing pending; afterwards starting a dry queue would
		 * only draw a warning. */
		if (sc_get_status() == SC_ELABORATION || sc_pending_activity())
			sc_start();
		return 0;
	} catch (const sc_report &r) {
		return fail(err, r.what());
	} catch (const std::exception &e) {
		return fail(err, e.what());
	} catch (...) {
		return fail(err, "unknown exception while running");
	}
}

extern "C" uint64_t
h4h_kernel_now_ps(void)
{
	if (h4h_kernel_init(NULL) != 0)
		return 0;
	return sc_time_stamp().value();
}

extern "C" uint64_t
h4h_kernel_activations(void)
{
	return activations;
}
