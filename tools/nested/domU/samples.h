/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Timing samples for the guest's benchmark tools (cfgread, evtping): one
 * clock, and the samples sorted so percentiles are read by index.
 */
#ifndef PCIBACK_DD_SAMPLES_H
#define PCIBACK_DD_SAMPLES_H

#include <stdlib.h>
#include <time.h>

/* Now, in microseconds on CLOCK_MONOTONIC. */
static inline double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static inline int samples_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts the N samples at US in ascending order. */
static inline void sort_samples(double *us, long n)
{
    qsort(us, n, sizeof *us, samples_cmp);
}

#endif
