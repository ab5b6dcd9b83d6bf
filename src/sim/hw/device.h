/*
 * device.h - what the device models (npu.c, cim.c) share in their set-up:
 * the one conversion of device cycles to kernel picoseconds, and acquiring
 * their kernel timers all or none.
 *
 * Why so small: each model's per-run bookkeeping (trace, name, start,
 * completion, busy time) sits in the lines its event handlers update on
 * the hot path; a base struct for it waits until the speed work on those
 * handlers (issue 18 part 2) has landed, so the two do not collide.
 */
#ifndef H4H_SIM_HW_DEVICE_H
#define H4H_SIM_HW_DEVICE_H

#include <math.h>
#include <stdint.h>

#include "sim/hw/kernel.h"

/* Whole device cycles (a fraction within 1e-9 of a whole cycle counts as
 * that cycle) at clock_mhz, in picoseconds, rounded to the nearest: every
 * device's time reaches the kernel through here, so two devices at one
 * clock agree to the picosecond. */
static inline uint64_t
sim_device_cycles_ps(double clock_mhz, double cycles)
{
	return (uint64_t)llround(ceil(cycles - 1e-9) * 1e6 / clock_mhz);
}

/* Acquires n kernel timers, timers[i] calling fns[i](ctx); on failure
 * releases those it got, sets every timers[i] to NULL and returns -1. */
int sim_device_timers(h4h_timer **timers, const h4h_kernel_fn *fns, int n,
    void *ctx);
/* Releases n timers (NULL ones are skipped). */
void sim_device_timers_release(h4h_timer **timers, int n);

#endif
