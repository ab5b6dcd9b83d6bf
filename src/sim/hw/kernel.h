/*
 * kernel.h - the SystemC discrete-event kernel through a C API.
 *
 * kernel.cpp is the only file that includes <systemc>; the hardware models
 * are C state machines that schedule callbacks on this kernel.  Two kinds of
 * processes are offered:
 *
 *   timers   a pooled SC_METHOD sensitive to its own sc_event: notify it with
 *            a delay and its callback runs at that time.  Cheap (no
 *            coroutine switch); the models use these.  Like an sc_event, a
 *            timer holds at most one pending notification: an earlier
 *            notify replaces a later one.
 *   threads  sc_spawn'ed SC_THREADs that may h4h_kernel_wait()/wait_event().
 *
 * The kernel persists across many simulations in one process: run() returns
 * when the event queue is dry and may be called again after new
 * notifications or spawns.  Time never goes backwards, so callers measure
 * durations as differences of h4h_kernel_now_ps().  No C++ exception
 * crosses into C: errors become H4H_ESIM with SystemC's message.  The
 * SystemC banner is disabled and SystemC reports go to stderr, never stdout.
 */
#ifndef H4H_SIM_KERNEL_H
#define H4H_SIM_KERNEL_H

#include <stdint.h>

#include "core/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*h4h_kernel_fn)(void *ctx);
typedef struct h4h_timer h4h_timer;
typedef struct h4h_event h4h_event;

/* Idempotent; called implicitly by the functions below. */
int h4h_kernel_init(h4h_err *err);

/* Timers come from a pool: acquire binds a callback, release returns it. */
h4h_timer *h4h_timer_acquire(h4h_kernel_fn fn, void *ctx);
void h4h_timer_release(h4h_timer *t);
void h4h_timer_notify(h4h_timer *t, uint64_t delay_ps);
void h4h_timer_cancel(h4h_timer *t);

/* Events for threads. */
h4h_event *h4h_event_create(void);
void h4h_event_destroy(h4h_event *e);
void h4h_event_notify(h4h_event *e, uint64_t delay_ps);

/* Spawn a thread process that runs fn(ctx) from the next delta cycle. */
int h4h_kernel_spawn(h4h_kernel_fn fn, void *ctx, h4h_err *err);
/* Only from inside a thread process. */
void h4h_kernel_wait(uint64_t delay_ps);
void h4h_kernel_wait_event(h4h_event *e);

/* Run until no event is pending. */
int h4h_kernel_run(h4h_err *err);
uint64_t h4h_kernel_now_ps(void);
/* Timer callbacks fired since the process started (a speed statistic). */
uint64_t h4h_kernel_activations(void);

#ifdef __cplusplus
}
#endif

#endif
