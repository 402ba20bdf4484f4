// SPDX-License-Identifier: MIT OR Apache-2.0
//! The build cache: downloads and build outputs, each kept under a key that
//! hashes everything its step depends on, so a change rebuilds that step and
//! the steps after it and nothing else.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::progress::{self, StepTime};
use super::{Error, ResultExt};

/// The cache directory, locked for as long as this value lives so that two
/// processes never build into it at once.
#[derive(Debug)]
pub(crate) struct Cache {
    root: PathBuf,
    _lock: File,
}

impl Cache {
    /// Opens (creating it if needed) and locks the cache:
    /// `$PCIBACK_DD_CACHE`, else `$XDG_CACHE_HOME/pciback-dd`, else
    /// `~/.cache/pciback-dd`; the nested environment lives in `nested/`.
    pub(crate) fn open() -> Result<Cache, Error> {
        let base = match (
            std::env::var_os("PCIBACK_DD_CACHE"),
            std::env::var_os("XDG_CACHE_HOME"),
            std::env::var_os("HOME"),
        ) {
            (Some(dir), _, _) => PathBuf::from(dir),
            (None, Some(xdg), _) => Path::new(&xdg).join("pciback-dd"),
            (None, None, Some(home)) => Path::new(&home).join(".cache/pciback-dd"),
            (None, None, None) => {
                return Err(Error::new(
                    "no cache directory: set PCIBACK_DD_CACHE or HOME",
                ));
            }
        };
        let root = base.join("nested");
        fs::create_dir_all(&root).context(&root)?;
        let lock_path = root.join("lock");
        let lock = File::create(&lock_path).context(&lock_path)?;
        lock.lock().context(&lock_path)?;
        Ok(Cache { root, _lock: lock })
    }

    /// Returns the output directory of step `name` for `key`, first running
    /// `build(out)` into a fresh directory if no complete one exists. Older
    /// outputs of the step are removed but for the newest one, so switching
    /// back one change does not rebuild.
    pub(crate) fn step(
        &self,
        name: &str,
        key: &str,
        times: &mut Vec<StepTime>,
        build: impl FnOnce(&Path) -> Result<(), Error>,
    ) -> Result<PathBuf, Error> {
        let dir = self.root.join(name);
        let out = dir.join(key);
        let complete = out.join(".complete");
        if complete.exists() {
            progress::note(&format!("{name}: cached ({})", out.display()));
            times.push(StepTime::cached(name));
            return Ok(out);
        }
        let partial = dir.join(format!("{key}.partial"));
        if partial.exists() {
            fs::remove_dir_all(&partial).context(&partial)?;
        }
        fs::create_dir_all(&partial).context(&partial)?;
        let start = Instant::now();
        progress::note(&format!("{name}: building ({})", out.display()));
        build(&partial)?;
        File::create(partial.join(".complete")).context(&partial)?;
        if out.exists() {
            fs::remove_dir_all(&out).context(&out)?;
        }
        fs::rename(&partial, &out).context(&out)?;
        let time = StepTime::new(name, start.elapsed());
        progress::note(&format!("{name}: done in {:.1} s", time.wall.as_secs_f64()));
        times.push(time);
        prune(&dir, &out)?;
        Ok(out)
    }
}

/// Removes the outputs in `dir` other than `keep` and the newest other one.
fn prune(dir: &Path, keep: &Path) -> Result<(), Error> {
    let mut others = Vec::new();
    for entry in fs::read_dir(dir).context(dir)? {
        let path = entry.context(dir)?.path();
        if path != keep && path.is_dir() {
            let modified = fs::metadata(&path)
                .and_then(|m| m.modified())
                .context(&path)?;
            others.push((modified, path));
        }
    }
    others.sort();
    others.pop();
    for (_, path) in others {
        fs::remove_dir_all(&path).context(&path)?;
    }
    Ok(())
}

/// Builds a cache key: a 64-bit FNV-1a hash, in hex, of labelled inputs.
/// Not cryptographic, and need not be: it only tells a local cache whether
/// its inputs changed, and it is stable across toolchains (unlike std's
/// `DefaultHasher`) without adding a dependency.
#[derive(Debug)]
pub(crate) struct Key(u64);

impl Key {
    /// A key for step `name`.
    pub(crate) fn new(name: &str) -> Key {
        let mut key = Key(0xcbf2_9ce4_8422_2325);
        key.add(name, &[]);
        key
    }

    /// Adds `data` under `label` (both length-prefixed, so inputs cannot run
    /// into each other).
    pub(crate) fn add(&mut self, label: &str, data: &[u8]) -> &mut Key {
        for chunk in [label.as_bytes(), data] {
            self.bytes(&(chunk.len() as u64).to_le_bytes());
            self.bytes(chunk);
        }
        self
    }

    /// Adds a file, or every file under a directory, by path and content.
    pub(crate) fn add_path(&mut self, base: &Path, relative: &str) -> Result<&mut Key, Error> {
        let path = base.join(relative);
        if path.is_dir() {
            let mut names: Vec<_> = fs::read_dir(&path)
                .context(&path)?
                .map(|entry| entry.map(|e| e.file_name()))
                .collect::<Result<_, _>>()
                .context(&path)?;
            names.sort();
            for name in names {
                let child = format!("{relative}/{}", name.to_string_lossy());
                self.add_path(base, &child)?;
            }
        } else {
            let data = fs::read(&path).context(&path)?;
            self.add(relative, &data);
        }
        Ok(self)
    }

    fn bytes(&mut self, data: &[u8]) {
        for &byte in data {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The key as 16 hex digits.
    pub(crate) fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_every_input_and_on_boundaries() {
        let hex = |parts: &[(&str, &[u8])]| {
            let mut key = Key::new("step");
            for (label, data) in parts {
                key.add(label, data);
            }
            key.hex()
        };
        let base = hex(&[("a", b"xy")]);
        assert_eq!(base, hex(&[("a", b"xy")]));
        assert_ne!(base, hex(&[("a", b"xz")]));
        assert_ne!(base, hex(&[("b", b"xy")]));
        assert_ne!(
            hex(&[("a", b"x"), ("b", b"")]),
            hex(&[("a", b""), ("b", b"x")])
        );
        assert_eq!(base.len(), 16);
    }
}
