/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * dom0-helper: what dom0 does in the scenarios that xl has no command for,
 * against Debian's libxenctrl, libxenstore, libxengnttab and libxenevtchn
 * (Xen 4.17).
 *
 *   dom0-helper claim-dom-exc
 *       Routes VIRQ_DOM_EXC to dom0. Xen sends that global VIRQ, "a domain
 *       changed state", to the hardware domain unless someone claimed it; once
 *       a late hardware domain exists it would no longer reach dom0's
 *       xenstored, which then never releases dead domains. Run before the
 *       driver domain is created.
 *
 *   dom0-helper domain-info DOMID
 *       Prints `domain DOMID: present ...` with its state flags and its
 *       memory as Xen counts it (tot_pages, max_pages, in 4 KiB pages), or
 *       `domain DOMID: no such domain` and exits with status 3 (ESRCH) once
 *       Xen has reaped it.
 *
 *   dom0-helper command DOMID WORD...
 *       Gives the driver domain DOMID one diagnostics command: writes the
 *       words to its control/pciback-dd node and waits (a XenStore watch, at
 *       most COMMAND_TIMEOUT_S) until the domain acknowledged by emptying the
 *       node. Prints `command "WORDS" to domain DOMID: acknowledged after X ms`.
 *
 *   dom0-helper grant-page DOMID TEXT
 *       Shares one zeroed page with DOMID, writable (gntalloc), holding TEXT
 *       and a NUL; prints `gref REF`, keeps the page shared until SIGTERM or
 *       SIGINT (at most SIGNAL_TIMEOUT_S), then ends the sharing and prints
 *       `unshared gref REF`.
 *
 *   dom0-helper pingpong DOMID COUNT
 *       Allocates an event-channel port for DOMID to bind to, prints
 *       `port PORT` and waits for SIGUSR1 (the peer has bound it and is
 *       echoing; at most SIGNAL_TIMEOUT_S). Then checks with Xen that the
 *       port is bound to DOMID, and COUNT times notifies it and waits for the
 *       event back (at most ROUND_TRIP_TIMEOUT_S), timing each round trip
 *       with CLOCK_MONOTONIC. Prints one line:
 *         pingpong domain=D port=P remote_port=R round_trips=N min_us=..
 *           median_us=.. p99_us=.. max_us=.. mean_us=..
 *
 *   dom0-helper echo DOMID PORT COUNT
 *       Binds to port PORT of DOMID (which that domain allocated for dom0)
 *       and answers each of COUNT events with one, each within
 *       ROUND_TRIP_TIMEOUT_S: the peer of a guest's `evtping`, the floor of
 *       dom0's side under a PCI op. Prints `echoed N` when done.
 *
 * Exit status: 0 done, 1 failed, 2 bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

/* How long the driver domain may take to run one diagnostics command. */
#define COMMAND_TIMEOUT_S 20
/* How long grant-page and pingpong wait for the signal that ends or starts them. */
#define SIGNAL_TIMEOUT_S 60
/* How long one ping may wait for its answer. */
#define ROUND_TRIP_TIMEOUT_S 5

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

/* Parses a domain id into *domid; 0 (having said why) if ARG is not one. */
static int parse_domid(const char *arg, uint32_t *domid)
{
    char *end;
    unsigned long value = strtoul(arg, &end, 0);

    if (*arg == '\0' || *end != '\0' || value >= DOMID_FIRST_RESERVED) {
        fprintf(stderr, "dom0-helper: bad domain id '%s'\n", arg);
        return 0;
    }
    *domid = value;
    return 1;
}

/*
 * The signals grant-page and pingpong wait for. Blocked from the start, so
 * one sent early stays pending instead of killing the helper.
 */
static sigset_t waited;

/* Waits for one of `waited`; returns it, or 0 after SIGNAL_TIMEOUT_S. */
static int wait_signal(void)
{
    struct timespec limit = { .tv_sec = SIGNAL_TIMEOUT_S };
    int sig;

    do
        sig = sigtimedwait(&waited, NULL, &limit);
    while (sig < 0 && errno == EINTR);
    return sig < 0 ? 0 : sig;
}

static int claim_dom_exc(void)
{
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    int rc = 0;

    if (!xch) {
        fprintf(stderr, "dom0-helper: cannot open libxenctrl: %s\n", strerror(errno));
        return 1;
    }
    if (xc_domain_set_virq_handler(xch, 0, VIRQ_DOM_EXC)) {
        fprintf(stderr, "dom0-helper: set_virq_handler(VIRQ_DOM_EXC): %s\n", strerror(errno));
        rc = 1;
    } else {
        printf("VIRQ_DOM_EXC: routed to domain 0\n");
    }
    xc_interface_close(xch);
    return rc;
}

static int domain_info(uint32_t domid)
{
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    xc_domaininfo_t info;
    int n;

    if (!xch) {
        fprintf(stderr, "dom0-helper: cannot open libxenctrl: %s\n", strerror(errno));
        return 1;
    }
    /*
     * Xen 4.17 has no "get exactly this domain": getdomaininfo returns the
     * first domain whose id is at least DOMID, so check which one came back.
     */
    n = xc_domain_getinfolist(xch, domid, 1, &info);
    xc_interface_close(xch);
    if (n < 0) {
        fprintf(stderr, "dom0-helper: getdomaininfo(%" PRIu32 "): %s\n", domid, strerror(errno));
        return 1;
    }
    if (n == 0 || info.domain != domid) {
        printf("domain %" PRIu32 ": no such domain\n", domid);
        return ESRCH;
    }
    printf("domain %" PRIu32 ": present dying=%d shutdown=%d paused=%d blocked=%d running=%d "
           "tot_pages=%" PRIu64 " max_pages=%" PRIu64 "\n",
           domid, !!(info.flags & XEN_DOMINF_dying), !!(info.flags & XEN_DOMINF_shutdown),
           !!(info.flags & XEN_DOMINF_paused), !!(info.flags & XEN_DOMINF_blocked),
           !!(info.flags & XEN_DOMINF_running), (uint64_t)info.tot_pages, (uint64_t)info.max_pages);
    return 0;
}

/* Reads `path`; 1 if it holds the empty string. */
static int node_is_empty(struct xs_handle *xs, const char *path)
{
    unsigned int len = 0;
    char *value = xs_read(xs, XBT_NULL, path, &len);
    int empty = value && len == 0;

    free(value);
    return empty;
}

static int command(uint32_t domid, int nwords, char **words)
{
    char path[64], text[256] = "";
    struct xs_permissions owner = { .id = domid, .perms = XS_PERM_NONE };
    struct xs_handle *xs;
    double start, deadline;
    size_t used = 0;
    int rc = 1;

    for (int i = 0; i < nwords; i++) {
        int n = snprintf(text + used, sizeof text - used, "%s%s", i ? " " : "", words[i]);
        if (n < 0 || (size_t)n >= sizeof text - used) {
            fprintf(stderr, "dom0-helper: command too long\n");
            return 2;
        }
        used += n;
    }
    snprintf(path, sizeof path, "/local/domain/%" PRIu32 "/control/pciback-dd", domid);
    xs = xs_open(0);
    if (!xs) {
        fprintf(stderr, "dom0-helper: cannot open XenStore: %s\n", strerror(errno));
        return 1;
    }
    /*
     * libxl makes the domain's control/ read-only to the domain, and a node
     * dom0 creates there inherits that: the domain could read the command but
     * not empty the node to acknowledge it. So the node is created empty
     * first and handed to the domain (the owner, first in the list, may
     * read and write it; others get the owner's entry: none).
     */
    if (!xs_write(xs, XBT_NULL, path, "", 0) || !xs_set_permissions(xs, XBT_NULL, path, &owner, 1) ||
        !xs_watch(xs, path, "command")) {
        fprintf(stderr, "dom0-helper: preparing %s: %s\n", path, strerror(errno));
        goto out;
    }
    start = now_us();
    deadline = start + COMMAND_TIMEOUT_S * 1e6;
    if (!xs_write(xs, XBT_NULL, path, text, strlen(text))) {
        fprintf(stderr, "dom0-helper: writing %s: %s\n", path, strerror(errno));
        goto out;
    }
    /*
     * Every event (the watch's first, our own write, the domain's) is
     * followed by a read; only the domain empties the node after our write.
     */
    for (;;) {
        struct pollfd fd = { .fd = xs_fileno(xs), .events = POLLIN };
        double left = deadline - now_us();
        unsigned int n;
        char **event;

        if (left <= 0 || poll(&fd, 1, (int)(left / 1000) + 1) == 0) {
            fprintf(stderr, "dom0-helper: domain %" PRIu32 " did not acknowledge \"%s\" within %d s\n",
                    domid, text, COMMAND_TIMEOUT_S);
            goto out;
        }
        event = xs_read_watch(xs, &n);
        if (!event) {
            fprintf(stderr, "dom0-helper: watching %s: %s\n", path, strerror(errno));
            goto out;
        }
        free(event);
        if (node_is_empty(xs, path))
            break;
    }
    printf("command \"%s\" to domain %" PRIu32 ": acknowledged after %.1f ms\n", text, domid,
           (now_us() - start) / 1000);
    rc = 0;
out:
    xs_close(xs);
    return rc;
}

static int grant_page(uint32_t domid, const char *text)
{
    xengntshr_handle *xgs = xengntshr_open(NULL, 0);
    uint32_t ref;
    char *page;
    int sig, rc = 1;

    if (!xgs) {
        fprintf(stderr, "dom0-helper: cannot open gntalloc: %s\n", strerror(errno));
        return 1;
    }
    if (strlen(text) >= XC_PAGE_SIZE) {
        fprintf(stderr, "dom0-helper: text longer than a page\n");
        goto out;
    }
    page = xengntshr_share_pages(xgs, domid, 1, &ref, 1);
    if (!page) {
        fprintf(stderr, "dom0-helper: sharing a page with domain %" PRIu32 ": %s\n", domid,
                strerror(errno));
        goto out;
    }
    memset(page, 0, XC_PAGE_SIZE);
    strcpy(page, text);
    printf("gref %" PRIu32 "\n", ref);
    fflush(stdout);
    sig = wait_signal();
    if (sig == SIGTERM || sig == SIGINT) {
        printf("unshared gref %" PRIu32 "\n", ref);
        rc = 0;
    } else {
        fprintf(stderr, "dom0-helper: not told to stop within %d s\n", SIGNAL_TIMEOUT_S);
    }
    xengntshr_unshare(xgs, page, 1);
out:
    xengntshr_close(xgs);
    return rc;
}

/* Waits for an event on `port`; 0 after ROUND_TRIP_TIMEOUT_S or an error. */
static int wait_event(xenevtchn_handle *xce, evtchn_port_t port)
{
    struct pollfd fd = { .fd = xenevtchn_fd(xce), .events = POLLIN };
    xenevtchn_port_or_error_t fired;

    if (poll(&fd, 1, ROUND_TRIP_TIMEOUT_S * 1000) != 1)
        return 0;
    fired = xenevtchn_pending(xce);
    /* The event leaves the port masked until it is unmasked. */
    return fired == (xenevtchn_port_or_error_t)port && xenevtchn_unmask(xce, port) == 0;
}

static int pingpong(uint32_t domid, long count)
{
    xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    xenevtchn_port_or_error_t port = -1;
    xc_evtchn_status_t status;
    double *us = calloc(count, sizeof *us), sum = 0;
    int rc = 1;

    if (!xce || !xch || !us) {
        fprintf(stderr, "dom0-helper: cannot open libxenevtchn / libxenctrl: %s\n", strerror(errno));
        goto out;
    }
    port = xenevtchn_bind_unbound_port(xce, domid);
    if (port < 0) {
        fprintf(stderr, "dom0-helper: a port for domain %" PRIu32 ": %s\n", domid, strerror(errno));
        goto out;
    }
    printf("port %d\n", port);
    fflush(stdout);
    if (wait_signal() != SIGUSR1) {
        fprintf(stderr, "dom0-helper: no SIGUSR1 (peer ready) within %d s\n", SIGNAL_TIMEOUT_S);
        goto out;
    }
    status = (xc_evtchn_status_t){ .dom = DOMID_SELF, .port = port };
    if (xc_evtchn_status(xch, &status) || status.status != EVTCHNSTAT_interdomain ||
        status.u.interdomain.dom != domid) {
        fprintf(stderr, "dom0-helper: port %d is not bound to domain %" PRIu32 "\n", port, domid);
        goto out;
    }
    for (long i = 0; i < count; i++) {
        double t0 = now_us();
        if (xenevtchn_notify(xce, port) || !wait_event(xce, port)) {
            fprintf(stderr, "dom0-helper: round trip %ld of %ld: no answer within %d s\n", i + 1, count,
                    ROUND_TRIP_TIMEOUT_S);
            goto out;
        }
        us[i] = now_us() - t0;
        sum += us[i];
    }
    qsort(us, count, sizeof *us, cmp_double);
    /* p99: the nearest rank, ceil(0.99 n). */
    printf("pingpong domain=%" PRIu32 " port=%d remote_port=%" PRIu32 " round_trips=%ld min_us=%.1f "
           "median_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f\n",
           domid, port, (uint32_t)status.u.interdomain.port, count, us[0], us[count / 2],
           us[(count * 99 + 99) / 100 - 1], us[count - 1], sum / count);
    rc = 0;
out:
    if (port >= 0)
        xenevtchn_unbind(xce, port);
    if (xce)
        xenevtchn_close(xce);
    if (xch)
        xc_interface_close(xch);
    free(us);
    return rc;
}

static int echo(uint32_t domid, uint32_t remote_port, long count)
{
    xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
    xenevtchn_port_or_error_t port = -1;
    long i = 0;
    int rc = 1;

    if (!xce) {
        fprintf(stderr, "dom0-helper: cannot open libxenevtchn: %s\n", strerror(errno));
        goto out;
    }
    port = xenevtchn_bind_interdomain(xce, domid, remote_port);
    if (port < 0) {
        fprintf(stderr, "dom0-helper: bind to port %" PRIu32 " of domain %" PRIu32 ": %s\n",
                remote_port, domid, strerror(errno));
        goto out;
    }
    /* Xen leaves the freshly bound port pending: that is not a ping. */
    {
        struct pollfd fd = { .fd = xenevtchn_fd(xce), .events = POLLIN };
        if (poll(&fd, 1, 200) == 1 && xenevtchn_pending(xce) >= 0)
            xenevtchn_unmask(xce, port);
    }
    printf("bound port %d\n", port);
    fflush(stdout);
    for (; i < count; i++) {
        if (!wait_event(xce, port) || xenevtchn_notify(xce, port)) {
            fprintf(stderr, "dom0-helper: event %ld of %ld: none within %d s\n", i + 1, count,
                    ROUND_TRIP_TIMEOUT_S);
            goto out;
        }
    }
    printf("echoed %ld\n", i);
    rc = 0;
out:
    if (port >= 0)
        xenevtchn_unbind(xce, port);
    if (xce)
        xenevtchn_close(xce);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: dom0-helper claim-dom-exc\n"
                    "       dom0-helper domain-info DOMID\n"
                    "       dom0-helper command DOMID WORD...\n"
                    "       dom0-helper grant-page DOMID TEXT\n"
                    "       dom0-helper pingpong DOMID COUNT\n"
                    "       dom0-helper echo DOMID PORT COUNT\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    uint32_t domid;

    sigemptyset(&waited);
    sigaddset(&waited, SIGTERM);
    sigaddset(&waited, SIGINT);
    sigaddset(&waited, SIGUSR1);
    sigprocmask(SIG_BLOCK, &waited, NULL);

    if (argc == 2 && !strcmp(what, "claim-dom-exc"))
        return claim_dom_exc();
    if (argc < 3 || !parse_domid(argv[2], &domid))
        return usage();
    if (argc == 3 && !strcmp(what, "domain-info"))
        return domain_info(domid);
    if (argc >= 4 && !strcmp(what, "command"))
        return command(domid, argc - 3, argv + 3);
    if (argc == 4 && !strcmp(what, "grant-page"))
        return grant_page(domid, argv[3]);
    if (argc == 4 && !strcmp(what, "pingpong")) {
        char *end;
        long count = strtol(argv[3], &end, 10);
        if (*argv[3] == '\0' || *end != '\0' || count <= 0 || count > 1000000)
            return usage();
        return pingpong(domid, count);
    }
    if (argc == 5 && !strcmp(what, "echo")) {
        char *end;
        unsigned long port = strtoul(argv[3], &end, 10);
        long count;
        if (*argv[3] == '\0' || *end != '\0' || port == 0 || port > 0xffffff)
            return usage();
        count = strtol(argv[4], &end, 10);
        if (*argv[4] == '\0' || *end != '\0' || count <= 0 || count > 1000000)
            return usage();
        return echo(domid, (uint32_t)port, count);
    }
    return usage();
}
