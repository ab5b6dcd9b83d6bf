/*
 * device.c - the device models' shared set-up (device.h).
 */
#include "sim/hw/device.h"

#include <stddef.h>

int
sim_device_timers(h4h_timer **timers, const h4h_kernel_fn *fns, int n,
    void *ctx)
{
	for (int i = 0; i < n; i++) {
		timers[i] = h4h_timer_acquire(fns[i], ctx);
		if (timers[i] == NULL) {
			sim_device_timers_release(timers, i);
			for (int j = 0; j < n; j++)
				timers[j] = NULL;
			return -1;
		}
	}
	return 0;
}

void
sim_device_timers_release(h4h_timer **timers, int n)
{
	for (int i = 0; i < n; i++)
		if (timers[i] != NULL)
			h4h_timer_release(timers[i]);
}
