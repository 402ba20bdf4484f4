// SPDX-License-Identifier: MIT OR Apache-2.0
//! Taking Xen's serial console apart: Xen's own lines, each domain's port
//! 0xE9 output, dom0's console, and what dom0's scripts send through it with
//! the line protocol of `tools/nested/lib.sh` (marks, results, files).

use std::collections::BTreeMap;

use super::qemu::{DONE, Line};

/// A step of the run, as dom0 marked it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The step's label (`toolstack-up`, `guest-create`, ...).
    pub label: String,
    /// When dom0 printed it: seconds since QEMU started.
    pub at: f64,
}

/// A `NESTED-RESULT` line: a fact a script reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// Who reported it: `dom0`, or a guest by name (from its console).
    pub source: String,
    /// The first word.
    pub key: String,
    /// The rest of the line.
    pub value: String,
}

/// The console, taken apart.
#[derive(Debug, Default)]
pub(crate) struct Demuxed {
    /// Named texts: `xen`, `dom0`, `xen-d<N>` (domain N's debug output),
    /// each file dom0 sent, and each file framed inside those.
    pub(crate) files: BTreeMap<String, String>,
    pub(crate) marks: Vec<Mark>,
    pub(crate) facts: Vec<Fact>,
    /// The exit status of dom0's scenario, if it got that far.
    pub(crate) status: Option<i32>,
    /// Signs of lost console output.
    pub(crate) problems: Vec<String>,
}

/// Splits the serial console of one run.
pub(crate) fn demux(lines: &[Line]) -> Demuxed {
    let mut out = Demuxed::default();
    let mut dom0 = Vec::new();
    for line in lines {
        let text = line.text.as_str();
        if let Some(rest) = text.strip_prefix("(XEN) ") {
            push(&mut out.files, "xen", rest);
        } else if let Some((domid, rest)) = domain_prefix(text) {
            // Once the driver domain is the hardware domain, Xen prefixes
            // dom0's console lines too.
            if domid == 0 {
                dom0.push((line.at, rest));
            } else {
                push(&mut out.files, &format!("xen-d{domid}"), rest);
            }
        } else {
            dom0.push((line.at, text));
        }
    }
    let rest = frames("dom0", dom0.iter().map(|(_, text)| *text), "", &mut out);
    out.files.insert("dom0".to_owned(), rest);
    for (at, text) in dom0 {
        if let Some(mark) = text.strip_prefix("NESTED-MARK ") {
            // "<uptime> <label>": the host's clock is the one that matters.
            let label = mark.split_once(' ').map_or(mark, |(_, label)| label);
            out.marks.push(Mark {
                label: label.to_owned(),
                at,
            });
        } else if let Some(status) = text.strip_prefix(DONE) {
            out.status = status
                .strip_prefix("status=")
                .and_then(|s| s.trim().parse().ok());
        }
    }
    out
}

/// `(dN) text` → `(N, text)`.
fn domain_prefix(text: &str) -> Option<(u32, &str)> {
    let rest = text.strip_prefix("(d")?;
    let (domid, rest) = rest.split_once(") ")?;
    Some((domid.parse().ok()?, rest))
}

fn push(files: &mut BTreeMap<String, String>, name: &str, line: &str) {
    let text = files.entry(name.to_owned()).or_default();
    text.push_str(line);
    text.push('\n');
}

/// Takes the framed files (`NESTED-BEGIN` ... `NESTED-END`) out of the lines
/// of `source`, records them (named `<prefix><name>`) and the facts outside
/// them, and returns the remaining text. Files named `console-<guest>` are a
/// guest's console: they are taken apart the same way, as source `<guest>`.
fn frames<'a>(
    source: &str,
    lines: impl Iterator<Item = &'a str>,
    prefix: &str,
    out: &mut Demuxed,
) -> String {
    let mut rest = String::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for text in lines {
        if let Some((name, body)) = &mut open {
            if let Some(line) = text.strip_prefix('|') {
                body.push(line.to_owned());
                continue;
            }
            if let Some(more) = text.strip_prefix('+') {
                if let Some(last) = body.last_mut() {
                    last.push_str(more);
                }
                continue;
            }
            if let Some(end) = text.strip_prefix("NESTED-END ") {
                let expected = end
                    .split_once(" lines=")
                    .and_then(|(_, n)| n.trim().parse::<usize>().ok());
                if expected != Some(body.len()) {
                    out.problems.push(format!(
                        "{prefix}{name}: {} lines arrived, the sender says {end}",
                        body.len()
                    ));
                }
                let (name, body) = open.take().expect("a file is open");
                close(&name, &body, prefix, out);
                continue;
            }
            // Anything else was printed in the middle of the file.
        } else if let Some(name) = text.strip_prefix("NESTED-BEGIN ") {
            open = Some((name.trim().to_owned(), Vec::new()));
            continue;
        }
        if let Some(fact) = text.strip_prefix("NESTED-RESULT ") {
            let (key, value) = fact.split_once(' ').unwrap_or((fact, ""));
            out.facts.push(Fact {
                source: source.to_owned(),
                key: key.to_owned(),
                value: value.trim().to_owned(),
            });
        }
        rest.push_str(text);
        rest.push('\n');
    }
    if let Some((name, body)) = open {
        out.problems
            .push(format!("{prefix}{name}: the console ended inside it"));
        close(&name, &body, prefix, out);
    }
    rest
}

fn close(name: &str, body: &[String], prefix: &str, out: &mut Demuxed) {
    let text = match name.strip_prefix("console-") {
        Some(guest) => frames(
            guest,
            body.iter().map(String::as_str),
            &format!("{guest}-"),
            out,
        ),
        None => body.iter().flat_map(|l| [l.as_str(), "\n"]).collect(),
    };
    out.files.insert(format!("{prefix}{name}"), text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Line> {
        text.lines()
            .enumerate()
            .map(|(i, t)| Line {
                at: i as f64,
                text: t.to_owned(),
            })
            .collect()
    }

    #[test]
    fn splits_xen_domains_dom0_and_framed_files() {
        let out = demux(&lines(
            "(XEN) Xen version 4.17.5\n\
             [    0.000] Linux version 6.1\n\
             NESTED-MARK 7.1 toolstack-up\n\
             NESTED-RESULT xsm xsm=flask\n\
             (XEN) Initialising hardware domain 1\n\
             (d1) pci: 0000:00:03.0 1234:11e8\n\
             (d0) NESTED-RESULT guest-reaped yes\n\
             (d0) NESTED-BEGIN console-pcifront\n\
             (d0) |NESTED-RESULT guest-up role=pcifront\n\
             (d0) |NESTED-BEGIN lspci\n\
             (d0) ||00:00.0 Unclassified [1234:11e8]\n\
             (d0) ||a long\n\
             (d0) |+ line\n\
             (d0) |NESTED-END lspci lines=2\n\
             (d0) NESTED-END console-pcifront lines=6\n\
             (d0) NESTED-DONE status=0\n",
        ));
        assert_eq!(
            out.files["xen"],
            "Xen version 4.17.5\nInitialising hardware domain 1\n"
        );
        assert_eq!(out.files["xen-d1"], "pci: 0000:00:03.0 1234:11e8\n");
        assert_eq!(
            out.files["pcifront-lspci"],
            "00:00.0 Unclassified [1234:11e8]\na long line\n"
        );
        assert!(out.files["dom0"].contains("Linux version 6.1\n"));
        assert!(!out.files["dom0"].contains("lspci"));
        assert_eq!(out.status, Some(0));
        assert_eq!(
            out.marks,
            [Mark {
                label: "toolstack-up".into(),
                at: 2.0
            }]
        );
        let facts: Vec<_> = out
            .facts
            .iter()
            .map(|f| (f.source.as_str(), f.key.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            facts,
            [
                ("dom0", "xsm", "xsm=flask"),
                ("dom0", "guest-reaped", "yes"),
                ("pcifront", "guest-up", "role=pcifront"),
            ]
        );
        assert!(out.problems.is_empty(), "{:?}", out.problems);
    }

    #[test]
    fn reports_lost_lines() {
        let out = demux(&lines(
            "NESTED-BEGIN x.txt\n|one\nNESTED-END x.txt lines=2\nNESTED-BEGIN y.txt\n|two\n",
        ));
        assert_eq!(out.files["x.txt"], "one\n");
        assert_eq!(out.files["y.txt"], "two\n");
        assert_eq!(out.problems.len(), 2, "{:?}", out.problems);
    }
}
