// SPDX-License-Identifier: MIT OR Apache-2.0
//! The image's command line: `key=value` words and bare flags.
//!
//! Parsing never fails as a whole: a word that is unknown or malformed is
//! reported and the rest still apply, as Linux treats its own command line.

use crate::ecam::{self, EcamWindow};
use core::fmt;

/// What the command line asks for. Values borrow the command-line text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options<'a> {
    /// `loglevel=`: the most verbose level printed.
    pub log_level: Option<log::LevelFilter>,
    /// `poweroff`: stop the domain (success) once the boot work is done.
    pub poweroff: bool,
    /// `selftest=`: a diagnostic that exercises a failure path on purpose.
    pub selftest: Option<SelfTest>,
    /// `pci.ecam=`: the ECAM window, overriding ACPI's MCFG.
    pub pci_ecam: Option<EcamWindow>,
    /// `xen-pciback.hide=`: the devices this domain takes, Linux syntax.
    pub pciback_hide: Option<&'a str>,
    /// `xen-pciback.permissive`: guests may write registers no rule covers.
    pub pciback_permissive: bool,
    /// `xen-pciback.passthrough=`: 1 shows guests real addresses, 0 (default)
    /// renumbers devices onto virtual bus 0.
    pub pciback_passthrough: Option<bool>,
}

/// Failure paths the image can exercise on purpose, so tests can check the
/// reports an administrator would see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfTest {
    /// Read an unmapped address: the page-fault report and the failure stop.
    PageFault,
    /// Fault with no usable stack: the double fault's report, from the
    /// emergency stack (the IST path an NMI or machine check also takes).
    DoubleFault,
    /// Panic: the panic report and the failure stop.
    Panic,
}

/// A word of the command line that was not understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Problem<'a> {
    /// The word as written.
    pub word: &'a str,
    /// Why it was skipped.
    pub reason: &'static str,
}

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ignoring `{}`: {}", self.word, self.reason)
    }
}

/// Parses `line`, calling `problem` for each word it skips.
pub fn parse<'a>(line: &'a str, mut problem: impl FnMut(Problem<'a>)) -> Options<'a> {
    let mut options = Options::default();
    for word in line.split_ascii_whitespace() {
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (word, None),
        };
        let outcome = match (key, value) {
            ("loglevel", Some(v)) => parse_log_level(v).map(|l| options.log_level = Some(l)),
            ("poweroff", None) => {
                options.poweroff = true;
                Ok(())
            }
            ("selftest", Some("page-fault")) => {
                options.selftest = Some(SelfTest::PageFault);
                Ok(())
            }
            ("selftest", Some("double-fault")) => {
                options.selftest = Some(SelfTest::DoubleFault);
                Ok(())
            }
            ("selftest", Some("panic")) => {
                options.selftest = Some(SelfTest::Panic);
                Ok(())
            }
            ("selftest", _) => Err("known self-tests are page-fault, double-fault and panic"),
            ("pci.ecam", Some(v)) => ecam::parse(v).map(|w| options.pci_ecam = Some(w)),
            ("xen-pciback.hide", Some(v)) => {
                options.pciback_hide = Some(v);
                Ok(())
            }
            ("xen-pciback.permissive", None | Some("1" | "Y" | "y")) => {
                options.pciback_permissive = true;
                Ok(())
            }
            ("xen-pciback.permissive", Some("0" | "N" | "n")) => {
                options.pciback_permissive = false;
                Ok(())
            }
            ("xen-pciback.passthrough", Some("0")) => {
                options.pciback_passthrough = Some(false);
                Ok(())
            }
            ("xen-pciback.passthrough", Some("1")) => {
                options.pciback_passthrough = Some(true);
                Ok(())
            }
            ("xen-pciback.passthrough", _) => Err("passthrough takes 0 or 1"),
            ("loglevel" | "pci.ecam" | "xen-pciback.hide", None) => Err("needs a value"),
            ("poweroff", Some(_)) => Err("poweroff takes no value"),
            _ => Err("unknown option"),
        };
        if let Err(reason) = outcome {
            problem(Problem { word, reason });
        }
    }
    options
}

/// `loglevel=` takes Linux's console levels (a message shows when its level
/// is below the number: 4 shows errors, 7 info, 8 debug) or a level name.
fn parse_log_level(value: &str) -> Result<log::LevelFilter, &'static str> {
    use log::LevelFilter as L;
    let by_name = match value {
        "off" => Some(L::Off),
        "error" => Some(L::Error),
        "warn" | "warning" => Some(L::Warn),
        "info" => Some(L::Info),
        "debug" => Some(L::Debug),
        "trace" => Some(L::Trace),
        _ => None,
    };
    if let Some(level) = by_name {
        return Ok(level);
    }
    match value.parse::<u8>() {
        Ok(0) => Ok(L::Off),
        Ok(1..=4) => Ok(L::Error),
        Ok(5..=6) => Ok(L::Warn),
        Ok(7) => Ok(L::Info),
        Ok(8) => Ok(L::Debug),
        Ok(9..) => Ok(L::Trace),
        _ => Err("loglevel takes 0-9 or off/error/warn/info/debug/trace"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the loader passes, parsing ends, and every word it
        /// skips is reported as written.
        #[test]
        fn never_panics_and_reports_only_real_words(line in "[ -~\\t]{0,300}") {
            let mut problems = Vec::new();
            let _ = parse(&line, |p| problems.push(p));
            for p in problems {
                prop_assert!(line.split_ascii_whitespace().any(|w| w == p.word));
            }
        }
    }

    fn parse_all(line: &str) -> (Options<'_>, Vec<Problem<'_>>) {
        let mut problems = Vec::new();
        let options = parse(line, |p| problems.push(p));
        (options, problems)
    }

    #[test]
    fn parses_every_option() {
        let (o, problems) = parse_all(
            "loglevel=8 poweroff selftest=page-fault pci.ecam=0xb0000000,0,0-255 \
             xen-pciback.hide=(0000:03:00.0)(04:00.*) xen-pciback.permissive \
             xen-pciback.passthrough=1",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(o.log_level, Some(log::LevelFilter::Debug));
        assert!(o.poweroff);
        assert_eq!(o.selftest, Some(SelfTest::PageFault));
        assert_eq!(o.pci_ecam, ecam::parse("0xb0000000").ok());
        assert_eq!(o.pciback_hide, Some("(0000:03:00.0)(04:00.*)"));
        assert!(o.pciback_permissive);
        assert_eq!(o.pciback_passthrough, Some(true));
    }

    #[test]
    fn empty_line_gives_defaults() {
        let (o, problems) = parse_all("   ");
        assert_eq!(o, Options::default());
        assert!(problems.is_empty());
    }

    #[test]
    fn log_levels_follow_linux_console_levels() {
        use log::LevelFilter as L;
        for (v, want) in [
            ("0", L::Off),
            ("4", L::Error),
            ("5", L::Warn),
            ("6", L::Warn),
            ("7", L::Info),
            ("8", L::Debug),
            ("9", L::Trace),
            ("warning", L::Warn),
            ("debug", L::Debug),
        ] {
            assert_eq!(parse_log_level(v), Ok(want), "loglevel={v}");
        }
        assert!(parse_log_level("-1").is_err());
        assert!(parse_log_level("loud").is_err());
    }

    #[test]
    fn bad_words_are_reported_and_the_rest_still_apply() {
        let (o, problems) = parse_all(
            "loglevel=loud frobnicate poweroff=yes xen-pciback.passthrough=2 poweroff pci.ecam=",
        );
        assert!(o.poweroff);
        assert_eq!(o.log_level, None);
        assert_eq!(o.pciback_passthrough, None);
        let words: Vec<_> = problems.iter().map(|p| p.word).collect();
        assert_eq!(
            words,
            [
                "loglevel=loud",
                "frobnicate",
                "poweroff=yes",
                "xen-pciback.passthrough=2",
                "pci.ecam="
            ]
        );
    }
}
