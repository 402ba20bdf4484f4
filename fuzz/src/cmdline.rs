// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cmdline`: the image's command line, every option, the hide list and `pci.ecam=`.
//!
//! The parsers are the kernel's own files, compiled here by path
//! (`kernel/src/cmdline.rs`, `kernel/src/ecam.rs`): the kernel crate
//! builds only for the bare-metal target. The fuzzer's bytes are the line
//! (valid UTF-8 as the kernel makes it, or lossily converted), biased
//! towards the option names and the syntax of their values.
//!
//! Invariants: parsing ends and never panics; every word reported is a
//! word of the line, reported once per occurrence; words are independent
//! (each word parsed alone is reported exactly when the whole line reports
//! it, and a line's options are those of its last word for each option);
//! an accepted `pci.ecam=` window is 1 MiB aligned, non-zero, its buses in
//! order and its range inside the address space; the hide list's parser
//! reports every stray byte with a position inside the value, and each
//! selector it accepts prints back (`Display`) as text it parses again to
//! the same selector.

use arbitrary::Unstructured;

use crate::kernel_cmdline::{self as cmdline, Options, Problem};
use crate::kernel_ecam as ecam;

/// Pieces the line is made of, so the fuzzer reaches every option.
const PIECES: &[&str] = &[
    " ",
    "\t",
    "=",
    ",",
    "-",
    "(",
    ")",
    ".",
    "*",
    ":",
    "0x",
    "loglevel",
    "poweroff",
    "selftest",
    "page-fault",
    "panic",
    "pci.ecam",
    "xen-pciback.hide",
    "xen-pciback.permissive",
    "xen-pciback.passthrough",
    "0000:03:00.0",
    "04:00.*",
    "0xb0000000",
    "255",
    "warn",
];

fn line(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let mut line = String::new();
    while !u.is_empty() && line.len() < 1024 {
        if u.ratio(2, 3)? {
            line.push_str(u.choose(PIECES)?);
        } else {
            let len = u.int_in_range(1..=8_usize)?.min(u.len());
            line.push_str(&String::from_utf8_lossy(u.bytes(len)?));
        }
    }
    Ok(line)
}

fn parse(line: &str) -> (Options<'_>, Vec<Problem<'_>>) {
    let mut problems = Vec::new();
    let options = cmdline::parse(line, |problem| problems.push(problem));
    (options, problems)
}

/// The target.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(text) = line(&mut u) else {
        return;
    };
    let (options, problems) = parse(&text);
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    // Words are independent: the line reports exactly the words that are
    // reported alone, in order.
    let mut alone = Vec::new();
    let mut last = Options::default();
    for word in &words {
        let (one, reported) = parse(word);
        assert!(reported.len() <= 1, "one word, {reported:?}");
        if let Some(problem) = reported.first() {
            assert_eq!(problem.word, *word);
            assert!(!problem.to_string().is_empty());
            alone.push(*word);
        }
        // Each option is the last word's that set it.
        last = Options {
            log_level: one.log_level.or(last.log_level),
            poweroff: one.poweroff || last.poweroff,
            selftest: one.selftest.or(last.selftest),
            pci_ecam: one.pci_ecam.or(last.pci_ecam),
            pciback_hide: one.pciback_hide.or(last.pciback_hide),
            pciback_permissive: if word.starts_with("xen-pciback.permissive") && reported.is_empty()
            {
                one.pciback_permissive
            } else {
                last.pciback_permissive
            },
            pciback_passthrough: one.pciback_passthrough.or(last.pciback_passthrough),
        };
    }
    let reported: Vec<&str> = problems.iter().map(|problem| problem.word).collect();
    assert_eq!(
        reported, alone,
        "the line reports other words than its words"
    );
    assert_eq!(options, last, "options are not the last word's");
    if let Some(window) = options.pci_ecam {
        check_window(window);
    }
    if let Some(hide) = options.pciback_hide {
        check_hide(hide);
    }
    // The values alone, as the kernel would meet them.
    for word in &words {
        if let Some((_, value)) = word.split_once('=') {
            if let Ok(window) = ecam::parse(value) {
                check_window(window);
            }
            check_hide(value);
        }
    }
}

fn check_window(window: ecam::EcamWindow) {
    assert!(
        window.base != 0 && window.base.is_multiple_of(1 << 20),
        "{window}"
    );
    assert!(window.start_bus <= window.end_bus, "{window}");
    let range = window.range();
    assert!(range.start < range.end, "{window}: {range:?}");
    assert_eq!(
        range.end - range.start,
        (u64::from(window.end_bus - window.start_bus) + 1) << 20
    );
}

fn check_hide(value: &str) {
    let list = pci::parse_device_list(value);
    for error in &list.errors {
        assert!(error.position() <= value.len(), "{error} past the end");
        assert!(!error.to_string().is_empty());
    }
    for selector in &list.selectors {
        let printed = selector.to_string();
        let again: pci::Selector = printed
            .parse()
            .unwrap_or_else(|error| panic!("{selector:?} prints as {printed:?}: {error}"));
        assert_eq!(&again, selector, "{printed:?}");
    }
}
