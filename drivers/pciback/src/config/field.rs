// SPDX-License-Identifier: MIT OR Apache-2.0
//! One virtualized register: Linux's `config_field` and its per-device data.
//!
//! Tables ([`Spec`] lists in `header.rs` and `capability.rs`) name a
//! register's offset, width and handler kind ([`Kind`]), as Linux's
//! `config_field` arrays name offset, size and function pointers. When a
//! device is taken each entry is instantiated once ([`Register::new`], Linux's
//! `init` hook) into a [`Field`] that carries the per-device state the
//! handlers need (the command register's cached value, a BAR's virtual
//! value). Nothing is looked up again per op.

use pci::{ConfigAccess, Width};

use super::bar::VirtualBar;
use super::{capability, command, header};
use crate::Delay;
use crate::error::OpError;
use crate::hardware::Hardware;
use crate::state::DeviceState;

/// A register as a table names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    /// Offset from the table's base (0 for the header, the capability's offset otherwise).
    pub(crate) offset: u16,
    /// Register width.
    pub(crate) width: Width,
    /// Its handlers.
    pub(crate) kind: Kind,
}

impl Spec {
    /// The entry for the `width` register at `offset` handled by `kind`.
    pub(crate) const fn new(offset: u16, width: Width, kind: Kind) -> Self {
        Self {
            offset,
            width,
            kind,
        }
    }
}

/// The handlers of a register (Linux's read/write/init function pointers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Vendor ID: the value cached at take time; writes ignored.
    VendorId,
    /// Device ID: the value cached at take time; writes ignored.
    DeviceId,
    /// Command register: `command_read`/`command_write`.
    Command,
    /// Interrupt line: the backend's IRQ number for the device; writes ignored.
    InterruptLine,
    /// Read from hardware; writes ignored.
    ReadOnly,
    /// Read from and written to hardware.
    ReadWrite,
    /// BIST: `bist_write`.
    Bist,
    /// A base address register: `bar_read`/`bar_write`.
    Bar,
    /// The expansion ROM BAR: `bar_read`/`rom_write`.
    Rom,
    /// PM capabilities (PMC): `pm_caps_read`; writes ignored.
    PowerCapabilities,
    /// PM control/status (PMCSR): `pm_ctrl_init`/`pm_ctrl_write`.
    PowerControl,
    /// VPD address: `vpd_address_write`.
    VpdAddress,
    /// MSI or MSI-X message control: `msi_msix_flags_write`.
    MessageControl,
    /// A quirk register: hardware, with only `mask` writable.
    Quirk {
        /// The bits a write may change.
        mask: u32,
    },
}

/// A register with the state its handlers keep for one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Register {
    /// A fixed value (vendor or device ID).
    Fixed(u16),
    /// The command register and the value the guest last wrote.
    Command {
        /// Linux's `pci_cmd_info.val`.
        cached: u16,
    },
    /// See [`Kind::InterruptLine`].
    InterruptLine,
    /// See [`Kind::ReadOnly`].
    ReadOnly,
    /// See [`Kind::ReadWrite`].
    ReadWrite,
    /// See [`Kind::Bist`].
    Bist,
    /// A BAR or the ROM BAR, virtualized.
    Bar(VirtualBar),
    /// See [`Kind::PowerCapabilities`].
    PowerCapabilities,
    /// See [`Kind::PowerControl`].
    PowerControl,
    /// See [`Kind::VpdAddress`].
    VpdAddress,
    /// See [`Kind::MessageControl`].
    MessageControl,
    /// See [`Kind::Quirk`].
    Quirk {
        /// The bits a write may change.
        mask: u32,
    },
}

/// What a handler may touch while it runs.
pub(crate) struct Context<'a, 'h, A: ?Sized, D: ?Sized> {
    /// The function's physical registers.
    pub(crate) hw: &'a Hardware<'h, A>,
    /// The function's state.
    pub(crate) state: &'a mut DeviceState,
    /// Waits (power-state changes).
    pub(crate) delay: &'a D,
    /// Permissive mode, global or for this device.
    pub(crate) permissive: bool,
}

impl Register {
    /// Instantiates `kind` for the register at `offset` (Linux's `init`
    /// hooks: `command_init`, `bar_init`, `pm_ctrl_init`).
    pub(crate) fn new<A: ConfigAccess + ?Sized>(
        kind: Kind,
        offset: u16,
        hw: &Hardware<'_, A>,
        state: &DeviceState,
    ) -> Self {
        match kind {
            Kind::VendorId => Self::Fixed(state.identity.vendor),
            Kind::DeviceId => Self::Fixed(state.identity.device),
            Kind::Command => Self::Command {
                cached: hw.read16(offset),
            },
            Kind::InterruptLine => Self::InterruptLine,
            Kind::ReadOnly => Self::ReadOnly,
            Kind::ReadWrite => Self::ReadWrite,
            Kind::Bist => Self::Bist,
            Kind::Bar => Self::Bar(VirtualBar::for_slot(&state.resources, offset)),
            Kind::Rom => Self::Bar(VirtualBar::for_rom(&state.resources)),
            Kind::PowerCapabilities => Self::PowerCapabilities,
            Kind::PowerControl => {
                capability::disable_pme(hw, offset);
                Self::PowerControl
            }
            Kind::VpdAddress => Self::VpdAddress,
            Kind::MessageControl => Self::MessageControl,
            Kind::Quirk { mask } => Self::Quirk { mask },
        }
    }

    /// Whether a read of the register returns something other than the
    /// hardware's value (fields that pass hardware through need no merge).
    pub(crate) fn virtualizes_reads(&self) -> bool {
        !matches!(
            self,
            Self::ReadOnly
                | Self::ReadWrite
                | Self::Bist
                | Self::PowerControl
                | Self::VpdAddress
                | Self::MessageControl
                | Self::Quirk { .. }
        )
    }

    /// The value the guest reads (Linux's read handlers).
    pub(crate) fn read<A: ConfigAccess + ?Sized>(
        &self,
        hw: &Hardware<'_, A>,
        state: &DeviceState,
        offset: u16,
        width: Width,
    ) -> u32 {
        match self {
            Self::Fixed(value) => (*value).into(),
            Self::Command { cached } => command::read(hw, offset, *cached).into(),
            Self::InterruptLine => state.guest_irq() & 0xFF,
            Self::Bar(bar) => bar.read(),
            Self::PowerCapabilities => capability::power_capabilities(hw, offset).into(),
            Self::ReadOnly
            | Self::ReadWrite
            | Self::Bist
            | Self::PowerControl
            | Self::VpdAddress
            | Self::MessageControl
            | Self::Quirk { .. } => hw.read(width, offset),
        }
    }

    /// Handles a guest write of `value` (already merged to the register's
    /// width) to the register at `offset` (Linux's write handlers; a
    /// register without one swallows the write).
    pub(crate) async fn write<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
        &mut self,
        context: &mut Context<'_, '_, A, D>,
        offset: u16,
        width: Width,
        value: u32,
    ) -> Result<(), OpError> {
        let [byte, ..] = value.to_le_bytes();
        let word = u16::try_from(value & 0xFFFF).unwrap_or(u16::MAX);
        match self {
            Self::Fixed(_) | Self::InterruptLine | Self::ReadOnly | Self::PowerCapabilities => {
                Ok(())
            }
            Self::Command { cached } => command::write(context, offset, cached, word).await,
            Self::ReadWrite => {
                context.hw.write(width, offset, value);
                Ok(())
            }
            Self::Bist => {
                header::write_bist(context.hw, offset, byte);
                Ok(())
            }
            Self::Bar(bar) => {
                bar.write(context.hw, offset, value);
                Ok(())
            }
            Self::PowerControl => capability::write_power_control(context, offset, word).await,
            Self::VpdAddress => capability::write_vpd_address(context.hw, offset, word),
            Self::MessageControl => capability::write_message_control(context, offset, word),
            Self::Quirk { mask } => {
                let kept = if *mask & width.mask() == width.mask() {
                    0
                } else {
                    context.hw.read(width, offset) & !*mask
                };
                context.hw.write(width, offset, kept | (value & *mask));
                Ok(())
            }
        }
    }

    /// Forgets what one guest did (Linux's `reset` hooks: `bar_reset`).
    pub(crate) fn reset(&mut self) {
        if let Self::Bar(bar) = self {
            bar.reset();
        }
    }
}

/// A register instantiated for one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    /// Absolute offset.
    pub(crate) offset: u16,
    /// Width.
    pub(crate) width: Width,
    /// Handlers and state.
    pub(crate) register: Register,
}

impl Field {
    /// One past the field's last byte.
    pub(crate) fn end(&self) -> u32 {
        u32::from(self.offset).saturating_add(self.width.bytes().into())
    }
}
