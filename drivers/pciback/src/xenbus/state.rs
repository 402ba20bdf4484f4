// SPDX-License-Identifier: MIT OR Apache-2.0
//! The per-frontend XenBus state machine, as a pure function.
//!
//! [`next`] is Linux's `xen_pcibk_be_watch` and `xen_pcibk_frontend_changed`
//! with the state checks their helpers make (`xen_pcibk_setup_backend`
//! only in InitWait, `xen_pcibk_attach` only when both ends are
//! Initialised, `xen_pcibk_reconfigure` only in the mode it was called
//! for) folded in: given the backend's `state` node as it reads now and
//! what happened, it says what to do. Doing it (XenStore, grants, event
//! channels, devices) is the caller's; a step that fails stops the rest
//! and moves the frontend to Closing (`xenbus_dev_fatal`).
//!
//! | backend state | event | actions |
//! |---|---|---|
//! | InitWait | backend changed | export every `dev-N`, Initialised, look at the frontend |
//! | Initialised | backend changed | reconfigure (devices added before the frontend connected) |
//! | Initialised | frontend Initialised | attach, Connected |
//! | Reconfiguring | frontend Reconfiguring | reconfigure, Reconfigured |
//! | Reconfigured | frontend Connected | Connected |
//! | any | frontend Closing | disconnect, Closing |
//! | any | frontend Closed | disconnect, Closed, unregister unless `online` |
//! | any | frontend Unknown (gone), its domain gone, backend gone | unregister |
//!
//! One deliberate difference: Linux answers a frontend's Connected with
//! Connected whatever its own state; here only a Reconfigured backend
//! does, so a frontend that claims Connected early cannot make the backend
//! claim a connection it has not made (no page mapped, no port bound).

use xen::abi::io::xenbus::XenbusState;

/// What happened to a frontend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The backend directory changed (Linux's `xen_pcibk_be_watch`), or the
    /// device was just probed.
    BackendChanged,
    /// The frontend's `state` changed; its value (Unknown when missing or
    /// unreadable, as `xenbus_read_driver_state` reads it).
    FrontendChanged(XenbusState),
    /// The frontend's domain no longer exists.
    FrontendGone,
    /// The toolstack removed the backend directory.
    BackendGone,
}

/// One step of the backend's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Export every `dev-N` (writing `vdev-N` and `state-N`) and publish the
    /// root buses (`xen_pcibk_setup_backend`).
    ExportAll,
    /// Export the `state-N` = Initialising devices and remove the `state-N` =
    /// Closing ones (`xen_pcibk_reconfigure`).
    Reconfigure,
    /// Read the frontend's state and feed it back as
    /// [`Event::FrontendChanged`] (setup's trailing `xen_pcibk_attach`).
    CheckFrontend,
    /// Read `pci-op-ref`, `event-channel` and `magic`, map the page and
    /// bind the event channel (`xen_pcibk_attach`).
    Attach,
    /// Write the backend's `state` (`xenbus_switch_state`).
    Switch(XenbusState),
    /// Unbind the event channel and unmap the page (`xen_pcibk_disconnect`).
    Disconnect,
    /// Unregister unless `online` is 1 (a Closed frontend).
    UnregisterUnlessOnline,
    /// Disconnect, release every device, Closed, and stop (`free_pdev`).
    Unregister,
}

use Action::*;
use XenbusState::*;

/// What to do when `event` happens while the backend's `state` reads `own`.
pub fn next(own: XenbusState, event: Event) -> &'static [Action] {
    match (own, event) {
        (_, Event::FrontendGone | Event::BackendGone | Event::FrontendChanged(Unknown)) => {
            &[Unregister]
        }
        (_, Event::FrontendChanged(Closing)) => &[Disconnect, Switch(Closing)],
        (_, Event::FrontendChanged(Closed)) => {
            &[Disconnect, Switch(Closed), UnregisterUnlessOnline]
        }
        (InitWait, Event::BackendChanged) => &[ExportAll, Switch(Initialised), CheckFrontend],
        (Initialised, Event::BackendChanged) => &[Reconfigure],
        (Initialised, Event::FrontendChanged(Initialised)) => &[Attach, Switch(Connected)],
        (Reconfiguring, Event::FrontendChanged(Reconfiguring)) => {
            &[Reconfigure, Switch(Reconfigured)]
        }
        (Reconfigured, Event::FrontendChanged(Connected)) => &[Switch(Connected)],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [XenbusState; 9] = [
        Unknown,
        Initialising,
        InitWait,
        Initialised,
        Connected,
        Closing,
        Closed,
        Reconfiguring,
        Reconfigured,
    ];

    fn events() -> impl Iterator<Item = Event> {
        STATES.into_iter().map(Event::FrontendChanged).chain([
            Event::BackendChanged,
            Event::FrontendGone,
            Event::BackendGone,
        ])
    }

    #[test]
    fn connect_sequence() {
        // Probe, then the toolstack's devices are there.
        assert_eq!(
            next(InitWait, Event::BackendChanged),
            [ExportAll, Switch(Initialised), CheckFrontend]
        );
        // The frontend is not ready yet: wait.
        assert_eq!(next(Initialised, Event::FrontendChanged(Initialising)), []);
        assert_eq!(
            next(Initialised, Event::FrontendChanged(Initialised)),
            [Attach, Switch(Connected)]
        );
        // The frontend finishes its own connect: nothing more to do.
        assert_eq!(next(Connected, Event::FrontendChanged(Connected)), []);
        assert_eq!(next(Connected, Event::BackendChanged), []);
    }

    #[test]
    fn hotplug_sequence() {
        // The toolstack wrote Reconfiguring into our state; we wait for the frontend.
        assert_eq!(next(Reconfiguring, Event::BackendChanged), []);
        assert_eq!(next(Reconfiguring, Event::FrontendChanged(Connected)), []);
        assert_eq!(
            next(Reconfiguring, Event::FrontendChanged(Reconfiguring)),
            [Reconfigure, Switch(Reconfigured)]
        );
        assert_eq!(
            next(Reconfigured, Event::FrontendChanged(Connected)),
            [Switch(Connected)]
        );
        // Devices added before the frontend connected.
        assert_eq!(next(Initialised, Event::BackendChanged), [Reconfigure]);
    }

    #[test]
    fn closing_and_going_away_from_every_state() {
        for own in STATES {
            assert_eq!(
                next(own, Event::FrontendChanged(Closing)),
                [Disconnect, Switch(Closing)]
            );
            assert_eq!(
                next(own, Event::FrontendChanged(Closed)),
                [Disconnect, Switch(Closed), UnregisterUnlessOnline]
            );
            for gone in [
                Event::FrontendChanged(Unknown),
                Event::FrontendGone,
                Event::BackendGone,
            ] {
                assert_eq!(next(own, gone), [Unregister], "{own} {gone:?}");
            }
        }
    }

    #[test]
    fn attach_and_reconfigure_run_only_in_their_state() {
        for own in STATES {
            for event in events() {
                let actions = next(own, event);
                if actions.contains(&Attach) {
                    assert_eq!(
                        (own, event),
                        (Initialised, Event::FrontendChanged(Initialised))
                    );
                }
                if actions.contains(&ExportAll) {
                    assert_eq!((own, event), (InitWait, Event::BackendChanged));
                }
                if actions.contains(&Reconfigure) {
                    assert!(
                        matches!(
                            (own, event),
                            (Initialised, Event::BackendChanged)
                                | (Reconfiguring, Event::FrontendChanged(Reconfiguring))
                        ),
                        "{own} {event:?}"
                    );
                }
                // Connected is claimed only after an attach or a reconfiguration.
                if actions.contains(&Switch(Connected)) {
                    assert!(
                        actions.contains(&Attach) || own == Reconfigured,
                        "{own} {event:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_frontend_claiming_connected_early_changes_nothing() {
        for own in [InitWait, Initialised, Reconfiguring, Closing, Closed] {
            assert_eq!(next(own, Event::FrontendChanged(Connected)), [], "{own}");
        }
    }
}
