/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * cfgread: the config-read timing loop of the nested scenarios, run in a
 * Linux guest. Times N 4-byte reads of a device's config space through sysfs
 * (each one a round trip to the PCI backend when the device comes from
 * pcifront) and prints one line with the distribution:
 *
 *   cfgread DEVICE samples=N min_us=.. median_us=.. p90_us=.. max_us=.. mean_us=.. first=VVVVDDDD
 *
 * usage: cfgread DEVICE N     (DEVICE as in /sys/bus/pci/devices, e.g. 0000:00:00.0)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    char path[256];
    long n = argc == 3 ? atol(argv[2]) : 0;
    double *us, sum = 0;
    uint32_t word = 0;
    int fd;

    if (n <= 0) {
        fprintf(stderr, "usage: cfgread DEVICE N\n");
        return 2;
    }
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", argv[1]);
    fd = open(path, O_RDONLY);
    us = calloc(n, sizeof *us);
    if (fd < 0 || !us) {
        perror(path);
        return 1;
    }
    for (long i = 0; i < n; i++) {
        double t0 = now_us();
        if (pread(fd, &word, sizeof word, 0) != sizeof word) {
            perror("pread");
            return 1;
        }
        us[i] = now_us() - t0;
        sum += us[i];
    }
    qsort(us, n, sizeof *us, cmp_double);
    printf("cfgread %s samples=%ld min_us=%.1f median_us=%.1f p90_us=%.1f max_us=%.1f mean_us=%.1f first=%08x\n",
           argv[1], n, us[0], us[n / 2], us[n * 9 / 10], us[n - 1], sum / n, word);
    return 0;
}
