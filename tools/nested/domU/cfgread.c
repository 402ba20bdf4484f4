/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * cfgread: the config-space timing loops of the nested scenarios, run in a
 * Linux guest. Each access through sysfs is one op on the PCI backend when
 * the device comes from pcifront.
 *
 *   cfgread DEVICE N
 *       N 4-byte reads at offset 0; prints
 *       cfgread DEVICE samples=N min_us=.. median_us=.. p90_us=.. max_us=.. mean_us=.. first=VVVVDDDD
 *   cfgread DEVICE N WORKLOAD
 *       N samples of WORKLOAD, timed per op; prints
 *       roundtrip WORKLOAD DEVICE samples=N ops=K min_us=.. median_us=.. p90_us=.. p99_us=.. max_us=.. mean_us=.. value=XXXXXXXX
 *     read0   a 4-byte read at offset 0 (K = 1)
 *     dump    the whole config space, 4 bytes at a time, as `lspci -xxxx`
 *             reads it (K = its size / 4; a sample's time is divided by K)
 *     status  a 2-byte read of the Status register (K = 1)
 *     write   a 2-byte write of the Command register with the value it
 *             holds, which changes nothing (K = 1)
 *     value is the last word read (dump: the sum of all of them).
 *
 * DEVICE as in /sys/bus/pci/devices, e.g. 0000:00:00.0.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "samples.h"

static void must(int ok, const char *what)
{
    if (!ok) {
        perror(what);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    char path[256];
    long n = argc >= 3 ? atol(argv[2]) : 0;
    const char *workload = argc == 4 ? argv[3] : NULL;
    double *us, sum = 0;
    uint32_t value = 0;
    uint16_t command = 0;
    long ops = 1;
    int fd;

    if (n <= 0 || argc > 4 ||
        (workload && strcmp(workload, "read0") && strcmp(workload, "dump") &&
         strcmp(workload, "status") && strcmp(workload, "write"))) {
        fprintf(stderr, "usage: cfgread DEVICE N [read0|dump|status|write]\n");
        return 2;
    }
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", argv[1]);
    fd = open(path, workload && !strcmp(workload, "write") ? O_RDWR : O_RDONLY);
    us = calloc(n, sizeof *us);
    must(fd >= 0 && us != NULL, path);
    if (workload && !strcmp(workload, "dump")) {
        struct stat st;
        must(fstat(fd, &st) == 0 && st.st_size >= 4, "fstat");
        ops = st.st_size / 4;
    }
    if (workload && !strcmp(workload, "write"))
        must(pread(fd, &command, 2, 4) == 2, "pread command");

    for (long i = 0; i < n; i++) {
        double t0 = now_us();
        if (!workload || !strcmp(workload, "read0")) {
            must(pread(fd, &value, 4, 0) == 4, "pread");
        } else if (!strcmp(workload, "dump")) {
            uint32_t words[1024];
            must(pread(fd, words, ops * 4, 0) == ops * 4, "pread dump");
            value = 0;
            for (long w = 0; w < ops; w++)
                value += words[w];
        } else if (!strcmp(workload, "status")) {
            uint16_t status;
            must(pread(fd, &status, 2, 6) == 2, "pread status");
            value = status;
        } else {
            must(pwrite(fd, &command, 2, 4) == 2, "pwrite command");
            value = command;
        }
        us[i] = (now_us() - t0) / ops;
        sum += us[i];
    }
    sort_samples(us, n);
    if (!workload)
        printf("cfgread %s samples=%ld min_us=%.1f median_us=%.1f p90_us=%.1f max_us=%.1f mean_us=%.1f first=%08x\n",
               argv[1], n, us[0], us[n / 2], us[n * 9 / 10], us[n - 1], sum / n, value);
    else
        printf("roundtrip %s %s samples=%ld ops=%ld min_us=%.1f median_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f value=%08x\n",
               workload, argv[1], n, ops, us[0], us[n / 2], us[n * 9 / 10], us[n * 99 / 100],
               us[n - 1], sum / n, value);
    return 0;
}
