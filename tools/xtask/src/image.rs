// SPDX-License-Identifier: MIT OR Apache-2.0
//! Building the image for `x86_64-unknown-none`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The image's target triple.
pub const TARGET: &str = "x86_64-unknown-none";

/// The workspace root (this crate lives in `tools/xtask`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a command in the workspace, failing with its name if it fails.
pub fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let status = command
        .current_dir(workspace())
        .status()
        .map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed: {status}"))
    }
}

/// `cargo` as invoked by `cargo xtask`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Installs the bare-metal target if rustup lacks it (rust-toolchain.toml
/// names it, but older rustup versions do not install targets on their own).
pub fn ensure_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(workspace())
        .output()
        .map_err(|e| format!("rustup: {e} (install Rust with rustup)"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    eprintln!("installing the {TARGET} Rust target...");
    run(Command::new("rustup").args(["target", "add", TARGET]))
}

/// Builds the image and returns its path.
pub fn build(release: bool) -> Result<PathBuf, String> {
    ensure_target()?;
    let mut cargo = cargo();
    cargo.args(["build", "--package", "kernel", "--target", TARGET]);
    if release {
        cargo.arg("--release");
    }
    run(&mut cargo)?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let profile = if release { "release" } else { "debug" };
    let image = target_dir.join(TARGET).join(profile).join("pciback-dd");
    image
        .canonicalize()
        .map_err(|e| format!("{}: {e}", image.display()))
}

/// `cargo xtask build`.
pub fn build_command(args: &[String]) -> Result<(), String> {
    let release = match args {
        [] => true,
        [flag] if flag == "--debug" => false,
        _ => return Err("build takes only --debug".into()),
    };
    let image = build(release)?;
    let size = std::fs::metadata(&image).map_err(|e| e.to_string())?.len();
    println!("{} ({size} bytes)", image.display());
    Ok(())
}

/// Installs `package` from crates.io when `cargo <subcommand>` is missing
/// (cargo-fuzz, cargo-mutants: the set-up is the xtask's, not the host's).
pub fn ensure_cargo_tool(subcommand: &str, package: &str) -> Result<(), String> {
    let present = cargo()
        .args([subcommand, "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if present {
        return Ok(());
    }
    eprintln!("installing {package} (crates.io)...");
    run(cargo().args(["install", package, "--locked"]))
}
