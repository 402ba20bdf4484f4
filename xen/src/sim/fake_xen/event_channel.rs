// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`FakeXen`](super::FakeXen)'s event channels: Xen's 2-level semantics.
//!
//! Ports connect across domains: `send` marks the peer's port pending in
//! the peer's `shared_info` exactly as `evtchn_2l_set_pending` does.

use core::sync::atomic::Ordering;

use super::{Caller, PortState, argument};
use crate::Errno;
use crate::abi::event_channel::{
    EVTCHN_2L_NR_CHANNELS, EVTCHNOP_ALLOC_UNBOUND, EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_BIND_VIRQ,
    EVTCHNOP_CLOSE, EVTCHNOP_SEND, EVTCHNOP_STATUS, EVTCHNOP_UNMASK, EVTCHNSTAT_CLOSED,
    EVTCHNSTAT_INTERDOMAIN, EVTCHNSTAT_UNBOUND, EVTCHNSTAT_VIRQ, EvtchnAllocUnbound,
    EvtchnBindInterdomain, EvtchnBindVirq, EvtchnClose, EvtchnPort, EvtchnSend, EvtchnStatus,
    EvtchnUnmask,
};
use crate::abi::xen::{DOMID_SELF, DomId, NR_VIRQS, SharedInfo};

/// Marks `port` pending exactly as Xen's `evtchn_2l_set_pending` does: set
/// the pending bit (done if it was already set), then, unless the port is
/// masked, set the selector bit of `vcpu` and, if that bit was clear, the
/// vCPU's `evtchn_upcall_pending`. Ports outside the 2-level range and
/// vCPUs without a slot are ignored.
pub fn raise_event(shared: &SharedInfo, vcpu: usize, port: EvtchnPort) {
    let (Some(vcpu_info), true) = (shared.vcpu_info.get(vcpu), port < EVTCHN_2L_NR_CHANNELS) else {
        return;
    };
    let (word, bit) = ((port / 64) as usize, 1u64 << (port % 64));
    if shared.evtchn_pending[word].fetch_or(bit, Ordering::SeqCst) & bit != 0 {
        return;
    }
    if shared.evtchn_mask[word].load(Ordering::SeqCst) & bit != 0 {
        return;
    }
    let selector = 1u64 << word;
    if vcpu_info
        .evtchn_pending_sel
        .fetch_or(selector, Ordering::SeqCst)
        & selector
        == 0
    {
        vcpu_info.evtchn_upcall_pending.store(1, Ordering::SeqCst);
    }
}

/// Xen's `evtchn_2l_unmask`: clear the mask bit; if it was set and the port
/// is pending, set the selector and upcall flag as a new event would.
fn unmask_event(shared: &SharedInfo, vcpu: usize, port: EvtchnPort) {
    let (Some(vcpu_info), true) = (shared.vcpu_info.get(vcpu), port < EVTCHN_2L_NR_CHANNELS) else {
        return;
    };
    let (word, bit) = ((port / 64) as usize, 1u64 << (port % 64));
    let was_masked = shared.evtchn_mask[word].fetch_and(!bit, Ordering::SeqCst) & bit != 0;
    if was_masked && shared.evtchn_pending[word].load(Ordering::SeqCst) & bit != 0 {
        let selector = 1u64 << word;
        if vcpu_info
            .evtchn_pending_sel
            .fetch_or(selector, Ordering::SeqCst)
            & selector
            == 0
        {
            vcpu_info.evtchn_upcall_pending.store(1, Ordering::SeqCst);
        }
    }
}

impl Caller<'_> {
    pub(super) unsafe fn event_channel(mut self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        // SAFETY: (all arms) `arg` points to the struct for `cmd`.
        unsafe {
            match cmd {
                EVTCHNOP_ALLOC_UNBOUND => {
                    let arg = argument::<EvtchnAllocUnbound>(arg)?;
                    self.check_self(arg.dom)?;
                    let remote = if arg.remote_dom == DOMID_SELF {
                        self.domid
                    } else {
                        arg.remote_dom
                    };
                    arg.port = self.me()?.alloc_port(PortState::Unbound { remote })?;
                }
                EVTCHNOP_BIND_INTERDOMAIN => {
                    let arg = argument::<EvtchnBindInterdomain>(arg)?;
                    arg.local_port = self.bind_interdomain(arg.remote_dom, arg.remote_port)?;
                }
                EVTCHNOP_BIND_VIRQ => {
                    let arg = argument::<EvtchnBindVirq>(arg)?;
                    if arg.virq >= NR_VIRQS {
                        return Err(Errno::EINVAL);
                    }
                    if arg.vcpu != 0 {
                        return Err(Errno::ENOENT);
                    }
                    let me = self.me()?;
                    if me.ports.contains(&PortState::Virq(arg.virq)) {
                        return Err(Errno::EEXIST);
                    }
                    arg.port = me.alloc_port(PortState::Virq(arg.virq))?;
                }
                EVTCHNOP_SEND => {
                    let port = argument::<EvtchnSend>(arg)?.port;
                    self.send(port)?;
                }
                EVTCHNOP_CLOSE => {
                    let port = argument::<EvtchnClose>(arg)?.port;
                    self.close(port)?;
                }
                EVTCHNOP_UNMASK => {
                    let port = argument::<EvtchnUnmask>(arg)?.port;
                    let me = self.me()?;
                    me.port(port)?;
                    unmask_event(&me.shared, 0, port);
                }
                EVTCHNOP_STATUS => {
                    let arg = argument::<EvtchnStatus>(arg)?;
                    self.check_self(arg.dom)?;
                    let state = self.me()?.ports.get(arg.port as usize).copied();
                    let (status, u) = match state {
                        None => return Err(Errno::EINVAL),
                        Some(PortState::Free) => (EVTCHNSTAT_CLOSED, [0, 0]),
                        Some(PortState::Unbound { remote }) => {
                            (EVTCHNSTAT_UNBOUND, [u32::from(remote), 0])
                        }
                        Some(PortState::Interdomain {
                            remote,
                            remote_port,
                        }) => (EVTCHNSTAT_INTERDOMAIN, [u32::from(remote), remote_port]),
                        Some(PortState::Virq(virq)) => (EVTCHNSTAT_VIRQ, [virq, 0]),
                    };
                    (arg.status, arg.vcpu, arg.u) = (status, 0, u);
                }
                _ => return Err(Errno::ENOSYS),
            }
        }
        Ok(0)
    }

    fn bind_interdomain(
        &mut self,
        remote_dom: DomId,
        remote_port: EvtchnPort,
    ) -> Result<EvtchnPort, Errno> {
        let remote_dom = if remote_dom == DOMID_SELF {
            self.domid
        } else {
            remote_dom
        };
        let peer = self.state.domain(remote_dom)?;
        match peer.port(remote_port)? {
            PortState::Unbound { remote } if remote == self.domid => {}
            _ => return Err(Errno::EINVAL),
        }
        let local = self.me()?.alloc_port(PortState::Interdomain {
            remote: remote_dom,
            remote_port,
        })?;
        let local_domid = self.domid;
        self.state.domain(remote_dom)?.set_port(
            remote_port,
            PortState::Interdomain {
                remote: local_domid,
                remote_port: local,
            },
        );
        // Xen leaves the new local port pending.
        raise_event(&self.me()?.shared, 0, local);
        Ok(local)
    }

    fn send(&mut self, port: EvtchnPort) -> Result<(), Errno> {
        match self.me()?.port(port)? {
            PortState::Interdomain {
                remote,
                remote_port,
            } => {
                let peer = self.state.domain(remote)?;
                raise_event(&peer.shared, 0, remote_port);
                Ok(())
            }
            // Xen silently drops notifications on unbound ports.
            PortState::Unbound { .. } => Ok(()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn close(&mut self, port: EvtchnPort) -> Result<(), Errno> {
        let me = self.me()?;
        let state = me.port(port)?;
        me.set_port(port, PortState::Free);
        // Xen clears a freed port's pending bit.
        me.shared.evtchn_pending[(port / 64) as usize]
            .fetch_and(!(1 << (port % 64)), Ordering::SeqCst);
        if let PortState::Interdomain {
            remote,
            remote_port,
        } = state
        {
            let closer = self.domid;
            if let Ok(peer) = self.state.domain(remote) {
                peer.set_port(remote_port, PortState::Unbound { remote: closer });
            }
        }
        Ok(())
    }
}
