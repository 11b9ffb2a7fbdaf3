//! tmpfs's mount options: parsed from the spec or `mount(2)`'s data, and
//! shown as Linux's tmpfs shows them in mountinfo.

use super::PAGE;
use abi::st;

/// Mount options (`size=`, `mode=`, `uid=`, `gid=`, `ro` and the
/// `nosuid`/`nodev`/`noexec` flags statfs reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Bytes of file data allowed, rounded up to pages.
    pub size: u64,
    /// Mode of the root directory.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub read_only: bool,
    /// `ST_*` flags for statfs.
    pub(super) flags: i64,
}

impl Options {
    /// Parses a spec's options; `memory` is the container's memory, of
    /// which Linux's default `size=` is half. Unknown options (`nr_inodes`,
    /// the atime ones) are accepted and have no effect.
    pub fn parse(options: &[String], memory: u64) -> Result<Options, String> {
        let mut o = Options { size: memory / 2, mode: 0o1777, uid: 0, gid: 0, read_only: false, flags: 0 };
        for opt in options {
            let (key, value) = opt.split_once('=').unwrap_or((opt, ""));
            let num = |v: &str, radix| u64::from_str_radix(v, radix).map_err(|_| format!("tmpfs: bad option {opt}"));
            match key {
                "size" => {
                    let (digits, unit) =
                        value.split_at(value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len()));
                    let n = num(digits, 10)?;
                    o.size = match unit {
                        "" => n,
                        "k" | "K" => n << 10,
                        "m" | "M" => n << 20,
                        "g" | "G" => n << 30,
                        "%" => memory / 100 * n,
                        _ => return Err(format!("tmpfs: bad size {value}")),
                    };
                }
                "mode" => o.mode = (num(value, 8)? & 0o7777) as u32,
                "uid" => o.uid = num(value, 10)? as u32,
                "gid" => o.gid = num(value, 10)? as u32,
                "ro" => o.read_only = true,
                "rw" => o.read_only = false,
                "nosuid" => o.flags |= st::NOSUID,
                "nodev" => o.flags |= st::NODEV,
                "noexec" => o.flags |= st::NOEXEC,
                _ => {}
            }
        }
        if o.read_only {
            o.flags |= st::RDONLY;
        }
        Ok(o)
    }

    /// The options as Linux's tmpfs shows them in mountinfo (`size=` in
    /// KiB; `mode=`, `uid=`, `gid=` when not the defaults).
    pub fn shown(&self) -> String {
        let mut s = format!("size={}k", self.size.div_ceil(PAGE) * PAGE / 1024);
        if self.mode != 0o1777 {
            s += &format!(",mode={:03o}", self.mode);
        }
        if self.uid != 0 {
            s += &format!(",uid={}", self.uid);
        }
        if self.gid != 0 {
            s += &format!(",gid={}", self.gid);
        }
        s
    }
}
