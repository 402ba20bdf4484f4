// SPDX-License-Identifier: MIT OR Apache-2.0
//! The domain's own life under Xen: its tasks, who it is, and the
//! toolstack's shutdown requests.
//!
//! [`spawn`] starts every task: the XenStore pump, the PCI backend, the
//! shutdown watch, and the diagnostics commands (`commands`).

use crate::arch::power::{self, ExitCode};
use crate::backend::PciBackend;
use crate::backend::platform::XenPlatform;
use crate::bus::Bus;
use crate::commands;
use crate::executor::Executor;
use crate::hypervisor::xenstore::{self, Xenstore};
use crate::hypervisor::{Services, Xen};
use alloc::boxed::Box;
use alloc::vec::Vec;
use pciback::Device;
use pciback::xenbus::{Backend, Options as BackendOptions};

/// Starts the domain's tasks: XenStore, the PCI backend serving `devices`,
/// shutdown requests, diagnostics.
pub fn spawn(
    executor: &mut Executor,
    xen: &'static Xen,
    services: Services,
    bus: &'static Bus,
    devices: Vec<Device>,
    options: BackendOptions,
) {
    let store = services.xenstore;
    executor.spawn("xenstore", xenstore::run(store, services.xenstore_port));
    let platform = XenPlatform::new(xen, bus, services.grants);
    let backend: &'static PciBackend =
        Box::leak(Box::new(Backend::new(store, platform, devices, options)));
    executor.spawn("pciback", backend.run());
    executor.spawn("lifecycle", lifecycle(store));
    executor.spawn("identity", identity(xen, store));
    commands::spawn(executor, xen, services, bus, backend);
}

/// Reports the domain's identity as XenStore knows it.
async fn identity(xen: &'static Xen, store: &'static Xenstore) {
    let domid = match store.read("domid").await {
        Ok(domid) => domid,
        Err(e) => {
            error!(target: "xenstore", "cannot read domid: {e}");
            return;
        }
    };
    if let Some(cpuid) = xen.cpuid.domid.filter(|d| domid.parse() != Ok(*d)) {
        warn!(target: "xenstore", "XenStore says domid {domid}, CPUID says {cpuid}");
    }
    let name = store.read("name").await.unwrap_or_default();
    info!(target: "xenstore", "domid {domid} ({name}), home /local/domain/{domid}");
    commands::list_home(store, &domid).await;
}

/// Follows `control/shutdown`, as `xl shutdown` and `xl reboot` write it.
async fn lifecycle(store: &'static Xenstore) {
    let watch = match store.watch("control/shutdown").await {
        Ok(watch) => watch,
        Err(e) => {
            error!(target: "control", "cannot watch control/shutdown: {e}; `xl shutdown` will not work");
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
                warn!(target: "control", "ignoring shutdown request `{other}`");
                continue;
            }
        };
        info!(target: "control", "toolstack asks for `{request}`: stopping");
        // Acknowledge, as Linux does, so the toolstack knows it was seen.
        let _ = store.write("control/shutdown", "").await;
        power::stop(code);
    }
}
