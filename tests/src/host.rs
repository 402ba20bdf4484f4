// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the host must have: Debian packages and the Rust target, installed
//! when possible (root on Debian), otherwise named exactly.

use std::path::Path;
use std::process::Command;

/// A host tool the project needs, and the Debian package that provides it.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// The program looked up on `PATH`.
    pub program: &'static str,
    /// The Debian package that installs it.
    pub package: &'static str,
}

/// QEMU for x86 (bare boots and the nested environment).
pub const QEMU: Tool = Tool {
    program: "qemu-system-x86_64",
    package: "qemu-system-x86",
};

/// Whether `program` is on `PATH`.
pub fn have(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
}

/// Makes sure every tool is present: installs the missing packages with
/// apt-get when running as root, otherwise fails naming them.
pub fn ensure(tools: &[Tool]) -> Result<(), String> {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|t| !have(t.program))
        .map(|t| t.package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)?;
    match tools.iter().find(|t| !have(t.program)) {
        Some(t) => Err(format!(
            "{} is still missing after installing {}",
            t.program, t.package
        )),
        None => Ok(()),
    }
}

/// Installs Debian packages (root only), printing what it does.
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    if !root || !Path::new("/usr/bin/apt-get").exists() {
        return Err(format!(
            "missing Debian packages: {}; install them with `apt-get install {}`",
            packages.join(" "),
            packages.join(" ")
        ));
    }
    eprintln!("installing {} (apt-get)...", packages.join(" "));
    let update = Command::new("apt-get").args(["update", "-qq"]).status();
    if !update.is_ok_and(|s| s.success()) {
        return Err("apt-get update failed".into());
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "apt-get install {} failed: {status}",
            packages.join(" ")
        ))
    }
}
