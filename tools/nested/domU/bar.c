/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * bar: one 4-byte access to a PCI device's BAR from a Linux guest, through
 * sysfs, for the nested scenarios. A memory BAR is mapped (resourceN,
 * mmap); an I/O BAR is read and written with pread/pwrite on resourceN,
 * which the kernel turns into inl/outl (in a PV guest Xen emulates those,
 * and reaches the ports only if the guest was given them:
 * XEN_DOMCTL_ioport_permission; otherwise reads return all ones). With
 * VALUE it writes first. It prints what it read:
 *
 *   0x0000000c
 *
 * usage: bar DEVICE BAR OFFSET [VALUE]   (DEVICE as in /sys/bus/pci/devices;
 *                                         OFFSET 4-byte aligned, numbers in C syntax)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Linux's IORESOURCE_IO, in the flags column of sysfs `resource`. */
#define IORESOURCE_IO 0x100UL

int main(int argc, char **argv)
{
    char path[256];
    unsigned long long start = 0, end = 0, flags = 0;
    long bar = argc >= 4 ? strtol(argv[2], NULL, 0) : -1;
    long offset = argc >= 4 ? strtol(argv[3], NULL, 0) : -1;
    uint32_t value = argc == 5 ? (uint32_t)strtoul(argv[4], NULL, 0) : 0;
    FILE *resources;
    int fd;

    if (argc < 4 || argc > 5 || bar < 0 || bar > 5 || offset < 0 || offset % 4) {
        fprintf(stderr, "usage: bar DEVICE BAR OFFSET [VALUE]\n");
        return 2;
    }
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource", argv[1]);
    resources = fopen(path, "r");
    for (long line = 0; resources && line <= bar; line++) {
        if (fscanf(resources, "%llx %llx %llx", &start, &end, &flags) != 3) {
            start = end = 0;
            break;
        }
    }
    if (!resources || start == 0 || (unsigned long long)offset + 4 > end - start + 1) {
        fprintf(stderr, "%s: no BAR %ld with offset %ld in it\n", path, bar, offset);
        return 1;
    }
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource%ld", argv[1], bar);
    fd = open(path, argc == 5 ? O_RDWR : O_RDONLY);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    if (flags & IORESOURCE_IO) {
        if ((argc == 5 && pwrite(fd, &value, 4, offset) != 4) || pread(fd, &value, 4, offset) != 4) {
            perror(path);
            return 1;
        }
    } else {
        long page = sysconf(_SC_PAGESIZE);
        long base = offset / page * page;
        volatile uint32_t *reg;
        void *map = mmap(NULL, page, PROT_READ | (argc == 5 ? PROT_WRITE : 0), MAP_SHARED, fd, base);

        if (map == MAP_FAILED) {
            perror(path);
            return 1;
        }
        reg = (volatile uint32_t *)((char *)map + (offset - base));
        if (argc == 5)
            *reg = value;
        value = *reg;
    }
    printf("0x%08x\n", value);
    return 0;
}
