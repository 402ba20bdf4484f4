// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Debian packages the machine running the nested environment needs,
//! installed with apt-get when missing.

use std::process::Command;

use super::{Error, ResultExt};

/// Host packages, each with what it is for.
const PACKAGES: &[(&str, &str)] = &[
    ("qemu-system-x86", "the nested machine"),
    // Building the hypervisor (its build dependencies for `make xen`).
    ("gcc", "Xen, dom0-helper, cfgread"),
    ("libc6-dev", "Xen, dom0-helper, cfgread (static)"),
    ("make", "Xen, policy"),
    ("bison", "Xen's Kconfig"),
    ("flex", "Xen's Kconfig"),
    ("python3", "Xen's build scripts"),
    ("xz-utils", "unpacking Xen's source"),
    ("patch", "Debian's and our Xen patches"),
    ("lsb-release", "Debian's version banner patch"),
    // The FLASK policy.
    ("checkpolicy", "compiling the policy"),
    ("m4", "expanding the policy's macros"),
    // dom0 and the guests: their binaries are copied from these packages.
    ("xen-utils-4.17", "xl, xenstored, xenconsoled for dom0"),
    ("libxen-dev", "libxenctrl for dom0-helper"),
    (
        "busybox-static",
        "the shell and tools of dom0 and the guests",
    ),
    ("pciutils", "lspci in dom0 and the guests"),
    ("kmod", "resolving the kernel modules' dependencies"),
    ("cpio", "packing the initramfs images"),
];

/// Makes sure every package is installed (installing the missing ones
/// with apt-get when running as root) and returns `name version` lines of
/// all of them: they are inputs of every build step.
pub(crate) fn ensure() -> Result<String, Error> {
    let (installed, missing) = query()?;
    if missing.is_empty() {
        return Ok(installed);
    }
    let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
    crate::host::apt_install(&missing).map_err(Error::new)?;
    let (installed, missing) = query()?;
    if missing.is_empty() {
        Ok(installed)
    } else {
        Err(Error::new(format!(
            "still not installed after apt-get install: {}",
            missing.join(" ")
        )))
    }
}

/// Returns the `name version` lines of the installed packages, and the
/// names of the missing ones.
fn query() -> Result<(String, Vec<String>), Error> {
    let output = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${Version} ${db:Status-Status}\\n"])
        .args(PACKAGES.iter().map(|(name, _)| name))
        .output()
        .context("dpkg-query (the nested environment needs a Debian host)")?;
    let listing = String::from_utf8_lossy(&output.stdout);
    let mut installed = String::new();
    let mut missing = Vec::new();
    for (name, _) in PACKAGES {
        let line = listing.lines().find(|line| {
            let mut words = line.split(' ');
            words.next() == Some(name) && words.nth(1) == Some("installed")
        });
        match line {
            Some(line) => {
                installed.push_str(line);
                installed.push('\n');
            }
            None => missing.push((*name).to_owned()),
        }
    }
    Ok((installed, missing))
}
