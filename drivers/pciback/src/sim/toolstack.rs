// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Toolstack`]: dom0 writing what libxl writes, for a driver-domain backend.
//!
//! The keys and their order are libxl's (`libxl__create_pci_backend`,
//! `libxl_create_pci_backend_device`, `do_pci_remove`); the paths and
//! permissions are the ones a driver-domain backend needs (platform report
//! x420 §5): the backend directory under the backend domain, owned by it
//! and readable by the guest; the frontend directory under the guest,
//! owned by it and readable by the backend; `backend-id` naming the
//! backend domain. Every write is dom0's, straight into xenstored.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use pci::Address;
use xen::abi::io::xenbus::XenbusState;
use xen::abi::xen::DomId;
use xen::sim::SimXenstored;
use xen::xenstore::{Access, Permission};

use super::SimWorld;
use crate::xenbus::parse;

/// A device in a guest's configuration (`pci=[...]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciDevice {
    /// The function.
    pub address: Address,
    /// `permissive=1`.
    pub permissive: bool,
    /// `gsi=<n>` in its options, as `pciback-dd-attach` writes the GSI
    /// dom0 routed its INTx to (libxl has no such option).
    pub gsi: Option<u32>,
}

impl PciDevice {
    /// The function at `address`, not permissive, no GSI.
    pub fn new(address: Address) -> Self {
        Self {
            address,
            permissive: false,
            gsi: None,
        }
    }

    /// The same with `gsi=<gsi>`.
    pub fn with_gsi(self, gsi: u32) -> Self {
        Self {
            gsi: Some(gsi),
            ..self
        }
    }

    /// libxl's `dev-N` and `key-N`: `%04x:%02x:%02x.%01x`.
    fn bdf(&self) -> String {
        let a = self.address;
        format!(
            "{:04x}:{:02x}:{:02x}.{:01x}",
            a.segment(),
            a.bus(),
            a.device(),
            a.function()
        )
    }

    /// libxl's `opts-N`, then `gsi=<n>` if it has one (`pciback-dd-attach`).
    fn opts(&self) -> String {
        let mut opts = format!(
            "msitranslate=0,power_mgmt=0,permissive={},rdm_policy=strict",
            u8::from(self.permissive)
        );
        if let Some(gsi) = self.gsi {
            opts.push_str(&format!(",gsi={gsi}"));
        }
        opts
    }
}

/// The toolstack of a machine whose PCI backend is domain `backend`.
#[derive(Clone, Debug)]
pub struct Toolstack {
    world: SimWorld,
    backend: DomId,
}

impl Toolstack {
    /// The toolstack for backend domain `backend` (already in `world`).
    /// Lets the backend hear `@releaseDomain`.
    pub fn new(world: &SimWorld, backend: DomId) -> Self {
        let perms = [
            Permission::new(0, Access::None),
            Permission::new(backend, Access::Read),
        ];
        world.xenstored(|store| report(store.set_perms("@releaseDomain", &perms)));
        Self {
            world: world.clone(),
            backend,
        }
    }

    /// `/local/domain/<guest>/device/pci/0`.
    pub fn frontend_dir(&self, guest: DomId) -> String {
        format!("/local/domain/{guest}/device/pci/0")
    }

    /// `/local/domain/<backend>/backend/pci/<guest>/0`.
    pub fn backend_dir(&self, guest: DomId) -> String {
        format!("/local/domain/{}/backend/pci/{guest}/0", self.backend)
    }

    /// Reads a key of `guest`'s backend directory.
    pub fn backend_key(&self, guest: DomId, key: &str) -> Option<String> {
        let path = format!("{}/{key}", self.backend_dir(guest));
        let value = self.world.xenstored(|store| store.read(&path))?;
        String::from_utf8(value).ok()
    }

    /// Reads a key of `guest`'s frontend directory.
    pub fn frontend_key(&self, guest: DomId, key: &str) -> Option<String> {
        let path = format!("{}/{key}", self.frontend_dir(guest));
        let value = self.world.xenstored(|store| store.read(&path))?;
        String::from_utf8(value).ok()
    }

    /// The backend's state for `guest`.
    pub fn backend_state(&self, guest: DomId) -> Option<XenbusState> {
        parse::state(self.backend_key(guest, "state")?.as_bytes())
    }

    /// What the backend wrote to its `error` node for `guest`.
    pub fn backend_error(&self, guest: DomId) -> Option<String> {
        let path = format!(
            "/local/domain/{}/error/backend/pci/{guest}/0/error",
            self.backend
        );
        let value = self.world.xenstored(|store| store.read(&path))?;
        String::from_utf8(value).ok()
    }

    /// Writes `value` at `path` as dom0 (for what libxl would never write).
    pub fn write(&self, path: &str, value: &str) {
        self.world
            .xenstored(|store| report(store.write(path, value.as_bytes())));
    }

    /// Removes `path` as dom0.
    pub fn remove(&self, path: &str) {
        self.world.xenstored(|store| report(store.rm(path)));
    }

    /// Gives `devices` to `guest`: the frontend and backend directories, as
    /// a guest created with `pci=[...]` gets them, before it runs.
    pub fn attach(&self, guest: DomId, devices: &[PciDevice]) {
        let frontend = self.frontend_dir(guest);
        let backend = self.backend_dir(guest);
        let entries = [
            ("backend", backend.clone()),
            ("backend-id", self.backend.to_string()),
            ("state", String::from("1")),
        ];
        self.world.xenstored(|store| {
            for (key, value) in &entries {
                report(store.write(&format!("{frontend}/{key}"), value.as_bytes()));
            }
            chmod_recursive(store, &frontend, guest, self.backend);
            let mut entries = Vec::from([
                ("frontend", frontend.clone()),
                ("frontend-id", guest.to_string()),
                ("online", String::from("1")),
                ("state", String::from("1")),
                ("domain", format!("guest{guest}")),
            ]);
            entries.push(("num_devs", devices.len().to_string()));
            for (key, value) in &entries {
                report(store.write(&format!("{backend}/{key}"), value.as_bytes()));
            }
            for (index, device) in devices.iter().enumerate() {
                write_device(store, &backend, index, device);
            }
            chmod_recursive(store, &backend, self.backend, guest);
        });
    }

    /// Adds `device` to `guest`'s backend directory: the next `N`, then
    /// `num_devs`, as libxl does for a guest still being built.
    pub fn add(&self, guest: DomId, device: PciDevice) {
        let backend = self.backend_dir(guest);
        let count = self.device_count(guest);
        self.world.xenstored(|store| {
            write_device(store, &backend, count, &device);
            let total = count.saturating_add(1).to_string();
            report(store.write(&format!("{backend}/num_devs"), total.as_bytes()));
        });
    }

    /// Hot-plugs `device` into running `guest` (`libxl_device_pci_add` for
    /// a PV guest): [`Toolstack::add`], then the backend's state
    /// Reconfiguring.
    pub fn hotplug(&self, guest: DomId, device: PciDevice) {
        self.add(guest, device);
        self.write(&format!("{}/state", self.backend_dir(guest)), "7");
    }

    /// Starts hot-unplugging device `index` of `guest`: `state-N` Closing,
    /// the backend's state Reconfiguring.
    pub fn unplug(&self, guest: DomId, index: usize) {
        let backend = self.backend_dir(guest);
        self.world.xenstored(|store| {
            report(store.write(&format!("{backend}/state-{index}"), b"5"));
            report(store.write(&format!("{backend}/state"), b"7"));
        });
    }

    /// Finishes hot-unplugging device `index` once the backend is Connected
    /// again: removes its keys and renumbers the later ones down, as
    /// libxl's `do_pci_remove` does.
    pub fn forget(&self, guest: DomId, index: usize) {
        let backend = self.backend_dir(guest);
        let count = self.device_count(guest);
        const KEYS: [&str; 7] = ["state", "key", "dev", "vdev", "opts", "vdevfn", "name"];
        self.world.xenstored(|store| {
            for key in KEYS {
                report(store.rm(&format!("{backend}/{key}-{index}")));
            }
            for from in index.saturating_add(1)..count {
                let to = from.saturating_sub(1);
                for key in KEYS {
                    let old = format!("{backend}/{key}-{from}");
                    if let Some(value) = store.read(&old) {
                        report(store.write(&format!("{backend}/{key}-{to}"), &value));
                        report(store.rm(&old));
                    }
                }
            }
            let total = count.saturating_sub(1).to_string();
            report(store.write(&format!("{backend}/num_devs"), total.as_bytes()));
        });
    }

    /// Destroys `guest` as `xl destroy` does: removes its device
    /// directories and its domain tree, then the domain itself.
    pub fn destroy(&self, guest: DomId) {
        let backend = self.backend_dir(guest);
        self.world.xenstored(|store| {
            report(store.rm(&backend));
            report(store.rm(&format!("/local/domain/{guest}")));
        });
        self.world.remove_domain(guest);
    }

    /// `num_devs` of `guest`'s backend directory.
    fn device_count(&self, guest: DomId) -> usize {
        self.backend_key(guest, "num_devs")
            .and_then(|count| parse::unsigned(count.as_bytes()))
            .and_then(|count| usize::try_from(count).ok())
            .unwrap_or(0)
    }
}

/// libxl's keys for device `index`.
fn write_device(store: &mut SimXenstored, backend: &str, index: usize, device: &PciDevice) {
    let bdf = device.bdf();
    let keys = [
        ("key", bdf.clone()),
        ("dev", bdf),
        ("opts", device.opts()),
        ("state", String::from("1")),
    ];
    for (key, value) in keys {
        report(store.write(&format!("{backend}/{key}-{index}"), value.as_bytes()));
    }
}

/// `xenstore-chmod -r <path> n<owner> r<reader>`.
fn chmod_recursive(store: &mut SimXenstored, path: &str, owner: DomId, reader: DomId) {
    let perms = [
        Permission::new(owner, Access::None),
        Permission::new(reader, Access::Read),
    ];
    report(store.set_perms(path, &perms));
    for child in store.directory(path) {
        chmod_recursive(store, &format!("{path}/{child}"), owner, reader);
    }
}

/// Logs a refused dom0 operation (a test's mistake, not the backend's).
fn report(result: Result<(), xen::Errno>) {
    if let Err(errno) = result {
        warn!("toolstack: xenstored refused: {errno}");
    }
}
