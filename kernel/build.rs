// SPDX-License-Identifier: MIT OR Apache-2.0
//! Links the image with `linker.ld`, for the bare-metal target only.

fn main() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../linker.ld");
    println!("cargo:rerun-if-changed={script}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{script}");
        println!("cargo:rustc-link-arg-bins=--no-pie");
        // Segments are page-aligned in memory (linker.ld), not in the file:
        // with a small file alignment each segment follows the previous
        // one in the file instead of starting at its next 4 KiB. Xen's
        // loader (libelf) and QEMU's copy each segment from its own
        // offset. It holds as long as no section asks for page alignment
        // (linker.ld aligns the hypercall page and the boot page tables).
        println!("cargo:rustc-link-arg-bins=-zmax-page-size=16");
        // The released image carries no symbol table (a sixth of the file);
        // the debug build keeps it for mapping a reported RIP to code, and
        // PCIBACK_DD_SYMBOLS=1 keeps it in a release build (to see where
        // the bytes go: `nm -S --size-sort`).
        println!("cargo:rerun-if-env-changed=PCIBACK_DD_SYMBOLS");
        let symbols = std::env::var_os("PCIBACK_DD_SYMBOLS").is_some();
        if std::env::var("PROFILE").as_deref() == Ok("release") && !symbols {
            println!("cargo:rustc-link-arg-bins=--strip-all");
        }
    }
}
