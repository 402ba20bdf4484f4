/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * evtping: the floor under a guest's PCI op, run in a Linux guest: an
 * event-channel round trip to a domain that only echoes (dom0, or the
 * driver domain), with nothing else in the path.
 *
 *   evtping REMOTE N PORTFILE
 *       Allocates a port for domain REMOTE to bind (through /dev/xen/evtchn),
 *       writes its number to PORTFILE and waits for SIGUSR1 (the remote
 *       end has bound it and echoes; at most 60 s). Then N times notifies
 *       it and waits for the event back (at most 5 s each), timed with
 *       CLOCK_MONOTONIC, and prints one line:
 *         evtping REMOTE samples=N min_us=.. median_us=.. p90_us=.. p99_us=.. max_us=.. mean_us=..
 *
 * Exit status: 0 done, 1 failed, 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <stdint.h>
#include <unistd.h>
/* Linux's uapi <xen/evtchn.h> uses Xen's domid_t without defining it. */
typedef uint16_t domid_t;
#include <xen/evtchn.h>
#include "samples.h"

static int fail(const char *what)
{
    perror(what);
    return 1;
}

/* Waits for the event on `port` (the device's only one) and unmasks it. */
static int wait_event(int fd, unsigned int port)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    unsigned int fired;

    if (poll(&p, 1, 5000) != 1)
        return 0;
    if (read(fd, &fired, sizeof fired) != sizeof fired || fired != port)
        return 0;
    return write(fd, &fired, sizeof fired) == sizeof fired;
}

int main(int argc, char **argv)
{
    long n = argc == 4 ? atol(argv[2]) : 0;
    struct ioctl_evtchn_bind_unbound_port bind;
    struct timespec limit = { .tv_sec = 60 };
    sigset_t waited;
    double *us, sum = 0;
    FILE *portfile;
    int fd, port;

    if (n <= 0) {
        fprintf(stderr, "usage: evtping REMOTE N PORTFILE\n");
        return 2;
    }
    sigemptyset(&waited);
    sigaddset(&waited, SIGUSR1);
    sigprocmask(SIG_BLOCK, &waited, NULL);
    us = calloc(n, sizeof *us);
    fd = open("/dev/xen/evtchn", O_RDWR);
    if (fd < 0 || !us)
        return fail("/dev/xen/evtchn");
    bind.remote_domain = atoi(argv[1]);
    port = ioctl(fd, IOCTL_EVTCHN_BIND_UNBOUND_PORT, &bind);
    if (port < 0)
        return fail("IOCTL_EVTCHN_BIND_UNBOUND_PORT");
    portfile = fopen(argv[3], "w");
    if (!portfile || fprintf(portfile, "%d\n", port) < 0 || fclose(portfile))
        return fail(argv[3]);
    while (sigtimedwait(&waited, NULL, &limit) < 0)
        if (errno != EINTR)
            return fail("waiting for SIGUSR1");
    for (long i = 0; i < n; i++) {
        struct ioctl_evtchn_notify notify = { .port = port };
        double t0 = now_us();

        if (ioctl(fd, IOCTL_EVTCHN_NOTIFY, &notify) < 0)
            return fail("IOCTL_EVTCHN_NOTIFY");
        if (!wait_event(fd, port)) {
            fprintf(stderr, "evtping: no echo for ping %ld\n", i);
            return 1;
        }
        us[i] = now_us() - t0;
        sum += us[i];
    }
    sort_samples(us, n);
    printf("evtping %s samples=%ld min_us=%.1f median_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f\n",
           argv[1], n, us[0], us[n / 2], us[n * 9 / 10], us[n * 99 / 100], us[n - 1], sum / n);
    return 0;
}
