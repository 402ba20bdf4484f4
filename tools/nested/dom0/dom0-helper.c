/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * dom0-helper: the dom0 steps of the hardware-domain model that xl has no
 * command for, against Debian's libxenctrl (Xen 4.17).
 *
 *   dom0-helper claim-dom-exc
 *       Routes VIRQ_DOM_EXC to dom0. Xen sends that global VIRQ, "a domain
 *       changed state", to the hardware domain unless someone claimed it; once
 *       a late hardware domain exists it would no longer reach dom0's
 *       xenstored, which then never releases dead domains. Run before the
 *       driver domain is created.
 *
 *   dom0-helper domain-info DOMID
 *       Prints `domain DOMID: present ...` with its state flags, or
 *       `domain DOMID: no such domain` and exits with status 3 (ESRCH) once
 *       Xen has reaped it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>

static int claim_dom_exc(xc_interface *xch)
{
    if (xc_domain_set_virq_handler(xch, 0, VIRQ_DOM_EXC)) {
        fprintf(stderr, "dom0-helper: set_virq_handler(VIRQ_DOM_EXC): %s\n", strerror(errno));
        return 1;
    }
    printf("VIRQ_DOM_EXC: routed to domain 0\n");
    return 0;
}

static int domain_info(xc_interface *xch, const char *arg)
{
    char *end;
    unsigned long domid = strtoul(arg, &end, 0);
    xc_domaininfo_t info;
    int n;

    if (*arg == '\0' || *end != '\0' || domid >= DOMID_FIRST_RESERVED) {
        fprintf(stderr, "dom0-helper: bad domain id '%s'\n", arg);
        return 2;
    }
    /*
     * Xen 4.17 has no "get exactly this domain": getdomaininfo returns the
     * first domain whose id is at least DOMID, so check which one came back.
     */
    n = xc_domain_getinfolist(xch, domid, 1, &info);
    if (n < 0) {
        fprintf(stderr, "dom0-helper: getdomaininfo(%lu): %s\n", domid, strerror(errno));
        return 1;
    }
    if (n == 0 || info.domain != domid) {
        printf("domain %lu: no such domain\n", domid);
        return ESRCH;
    }
    printf("domain %lu: present dying=%d shutdown=%d paused=%d blocked=%d running=%d\n", domid,
           !!(info.flags & XEN_DOMINF_dying), !!(info.flags & XEN_DOMINF_shutdown),
           !!(info.flags & XEN_DOMINF_paused), !!(info.flags & XEN_DOMINF_blocked),
           !!(info.flags & XEN_DOMINF_running));
    return 0;
}

int main(int argc, char **argv)
{
    xc_interface *xch;
    int rc;

    if (!(argc == 2 && !strcmp(argv[1], "claim-dom-exc")) &&
        !(argc == 3 && !strcmp(argv[1], "domain-info"))) {
        fprintf(stderr, "usage: dom0-helper claim-dom-exc | domain-info DOMID\n");
        return 2;
    }
    xch = xc_interface_open(NULL, NULL, 0);
    if (!xch) {
        fprintf(stderr, "dom0-helper: cannot open libxenctrl: %s\n", strerror(errno));
        return 1;
    }
    rc = argc == 2 ? claim_dom_exc(xch) : domain_info(xch, argv[2]);
    xc_interface_close(xch);
    return rc;
}
