// SPDX-License-Identifier: MIT OR Apache-2.0
//! `console`: the line editor behind the commands typed on `xl console`.
//!
//! The editor is the kernel's own file (`kernel/src/line.rs`), compiled
//! here by path; the dispatcher that runs a line needs the live machine,
//! so what is fuzzed is the editor and the splitting of a line into the
//! words the dispatcher matches. The fuzzer's bytes are what a user (or
//! anything on the console's ring) types, read in chunks of any size as
//! the console task reads its ring.
//!
//! Invariants: every line handed out is non-empty, at most
//! `MAX_LINE` bytes, all printable ASCII; it is what the bytes spell by
//! the editing rules (printable bytes appended while there is room,
//! backspace and delete erase one, CR and LF end a line with text, the
//! rest ignored), checked against a model that follows those rules a
//! segment at a time; the chunking does not matter; each word of a line
//! is a non-empty run of non-blanks of that line, in order.

use arbitrary::Unstructured;

use crate::kernel_line::{LineEditor, MAX_LINE};

/// The rules, written over whole segments instead of bytes.
fn model(bytes: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for &byte in bytes {
        if byte.is_ascii_graphic() || byte == b' ' {
            if line.len() < MAX_LINE {
                line.push(char::from(byte));
            }
        } else if byte == b'\x08' || byte == b'\x7f' {
            line.pop();
        } else if (byte == b'\r' || byte == b'\n') && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
    }
    lines
}

/// The target.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(chunk) = u.int_in_range(1..=64_usize) else {
        return;
    };
    let typed = u.take_rest();
    let mut editor = LineEditor::new();
    let mut lines = Vec::new();
    for piece in typed.chunks(chunk) {
        lines.extend(piece.iter().filter_map(|&byte| editor.push(byte)));
    }
    for line in &lines {
        assert!(!line.is_empty() && line.len() <= MAX_LINE, "{line:?}");
        assert!(
            line.bytes()
                .all(|byte| byte.is_ascii_graphic() || byte == b' '),
            "{line:?}"
        );
        let mut rest = line.as_str();
        for word in line.split_ascii_whitespace() {
            assert!(!word.is_empty() && !word.contains(|c: char| c.is_ascii_whitespace()));
            let at = rest.find(word).expect("a word of the line");
            rest = &rest[at + word.len()..];
        }
    }
    assert_eq!(lines, model(typed), "the editor disagrees with its rules");
}
