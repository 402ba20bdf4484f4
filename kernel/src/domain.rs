// SPDX-License-Identifier: MIT OR Apache-2.0
//! The domain's own life under Xen: who it is, the toolstack's shutdown
//! requests, and the administrator's diagnostics.
//!
//! Diagnostics are asked for through XenStore: dom0 writes a command to
//! `/local/domain/<this domain>/control/pciback-dd` (`xenstore-write`), the
//! report goes to the console, and the node is emptied to acknowledge.
//! Commands: `pci` (the bus table), `xenstore` (this domain's home).

use crate::arch::power::{self, ExitCode};
use crate::bus::Bus;
use crate::executor::Executor;
use crate::hypervisor::xenstore::Xenstore;
use crate::hypervisor::{Services, Xen};
use alloc::format;
use alloc::string::String;

/// Where the administrator's diagnostic commands arrive.
const COMMAND_NODE: &str = "control/pciback-dd";

/// Starts the domain's tasks: XenStore, shutdown requests, diagnostics.
pub fn spawn(executor: &mut Executor, xen: &'static Xen, services: Services, bus: &'static Bus) {
    let store = services.xenstore;
    executor.spawn("xenstore", store.run());
    executor.spawn("lifecycle", lifecycle(store));
    executor.spawn("identity", identity(xen, store));
    executor.spawn("diagnostics", diagnostics(store, bus));
}

/// Reports the domain's identity as XenStore knows it.
async fn identity(xen: &'static Xen, store: &'static Xenstore) {
    let domid = match store.read("domid").await {
        Ok(domid) => domid,
        Err(e) => {
            log::error!(target: "xenstore", "cannot read domid: {e}");
            return;
        }
    };
    if let Some(cpuid) = xen.cpuid.domid.filter(|d| domid.parse() != Ok(*d)) {
        log::warn!(target: "xenstore", "XenStore says domid {domid}, CPUID says {cpuid}");
    }
    let name = store.read("name").await.unwrap_or_default();
    log::info!(target: "xenstore", "domid {domid} ({name}), home /local/domain/{domid}");
    list_home(store, &domid).await;
}

/// Logs the children of this domain's home.
async fn list_home(store: &Xenstore, domid: &str) {
    let home = format!("/local/domain/{domid}");
    match store.directory(&home).await {
        Ok(entries) => log::info!(target: "xenstore", "{home}: {}", entries.join(" ")),
        Err(e) => log::warn!(target: "xenstore", "{home}: {e}"),
    }
}

/// Follows `control/shutdown`, as `xl shutdown` and `xl reboot` write it.
async fn lifecycle(store: &'static Xenstore) {
    let watch = match store.watch("control/shutdown").await {
        Ok(watch) => watch,
        Err(e) => {
            log::error!(target: "control", "cannot watch control/shutdown: {e}; `xl shutdown` will not work");
            return;
        }
    };
    loop {
        watch.next().await;
        let request = store.read("control/shutdown").await.unwrap_or_default();
        let code = match request.as_str() {
            "" => continue,
            "poweroff" | "halt" => ExitCode::Success,
            "crash" => ExitCode::Panic,
            other => {
                log::warn!(target: "control", "ignoring shutdown request `{other}`");
                continue;
            }
        };
        log::info!(target: "control", "toolstack asks for `{request}`: stopping");
        // Acknowledge, as Linux does, so the toolstack knows it was seen.
        let _ = store.write("control/shutdown", "").await;
        power::stop(code);
    }
}

/// Runs the commands written to [`COMMAND_NODE`].
async fn diagnostics(store: &'static Xenstore, bus: &'static Bus) {
    let watch = match store.watch(COMMAND_NODE).await {
        Ok(watch) => watch,
        Err(e) => {
            log::warn!(target: "control", "cannot watch {COMMAND_NODE}: {e}; no diagnostics");
            return;
        }
    };
    loop {
        watch.next().await;
        let command: String = store.read(COMMAND_NODE).await.unwrap_or_default();
        match command.trim() {
            "" => continue,
            "pci" => bus.report(),
            "xenstore" => {
                let domid = store.read("domid").await.unwrap_or_default();
                list_home(store, &domid).await;
            }
            other => log::warn!(target: "control", "unknown command `{other}` (try pci, xenstore)"),
        }
        let _ = store.write(COMMAND_NODE, "").await;
    }
}
