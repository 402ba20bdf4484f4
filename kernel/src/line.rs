// SPDX-License-Identifier: MIT OR Apache-2.0
//! The console's line editor: bytes typed on `xl console` in, command lines out.
//!
//! Pure, so the host tests and the fuzzer (`fuzz/src/console.rs`) run the
//! code the image runs: printable ASCII is kept (at most [`MAX_LINE`]
//! bytes), backspace and delete remove the last byte, CR or LF end a line
//! that has text, everything else is dropped.

use alloc::string::String;

/// Longest command line typed on the console; bytes past it are dropped.
pub const MAX_LINE: usize = 256;

/// A line being typed.
#[derive(Debug, Default)]
pub struct LineEditor {
    line: String,
}

impl LineEditor {
    /// Nothing typed yet.
    pub const fn new() -> Self {
        Self {
            line: String::new(),
        }
    }

    /// Takes one byte; returns the line it ends, if it ends one.
    pub fn push(&mut self, byte: u8) -> Option<String> {
        match byte {
            b'\r' | b'\n' if !self.line.is_empty() => Some(core::mem::take(&mut self.line)),
            0x08 | 0x7f => {
                self.line.pop();
                None
            }
            0x20..=0x7e if self.line.len() < MAX_LINE => {
                self.line.push(char::from(byte));
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<String> {
        let mut editor = LineEditor::new();
        input.iter().filter_map(|&byte| editor.push(byte)).collect()
    }

    #[test]
    fn lines_end_at_cr_or_lf_and_empty_ones_are_skipped() {
        assert_eq!(lines(b"pci\r\n\ndevices\n"), ["pci", "devices"]);
        assert!(lines(b"stats").is_empty());
    }

    #[test]
    fn backspace_and_delete_erase_and_control_bytes_are_dropped() {
        assert_eq!(lines(b"pcx\x08i\n"), ["pci"]);
        assert_eq!(lines(b"\x08\x7fst\x1b\x00ats\x7f\x7f\x7fats\r"), ["stats"]);
    }

    #[test]
    fn a_line_keeps_its_first_max_line_bytes() {
        let mut input = vec![b'a'; MAX_LINE + 10];
        input.push(b'\n');
        assert_eq!(lines(&input), ["a".repeat(MAX_LINE)]);
    }
}
