//! The sentry's cache of what the gofer answered about its writable trees
//! (bind mounts, the root with `--overlay2=none`): names → attributes and
//! the results of path walks, so a repeated `stat` or lookup costs no
//! round trip to the gofer (moat issue #4; gVisor's gofer dentry cache,
//! revalidated by time here rather than per open).
//!
//! The cache is shared by every tree of one gofer connection. It is built
//! like a dentry cache over an inode cache: a name (mount, path) leads to a
//! host inode (dev, ino), whose attributes are kept once, so a write seen
//! through one hard link is seen through all.
//!
//! Consistency with the application's own changes: every request that
//! changes names in the host tree (mkdir, symlink, link, unlink, rmdir,
//! rename, a socket node) or a directory's attributes empties the whole
//! cache once the gofer has answered, parents, subtrees and other hard
//! links included; an open that creates or truncates a file drops the
//! attributes of the file and its directory, a setattr of a file those
//! of the file, and a write or truncate through a donated descriptor
//! those of its inode (under every name: attributes are kept per inode). A generation counter keeps an answer fetched before
//! such a change from being stored after it.
//!
//! Changes made on the host behind the sandbox's back are seen within
//! [`REVALIDATE_AFTER`]: an entry older than that is asked again (NFS's
//! attribute cache, `acregmin`, works the same way). File data never comes
//! from here: reads go through the donated descriptor and see the host's
//! current contents.

use abi::Stat;
use gofer::proto::{open_flags, Owner, Request, WalkLink};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an entry is believed without asking the gofer again.
pub const REVALIDATE_AFTER: Duration = Duration::from_secs(1);

/// Entries kept at most (per kind); past it the cache starts afresh.
const MAX_ENTRIES: usize = 16384;

/// A walk's answer: the first symlink to follow and the directories searched.
pub type Walked = (Option<WalkLink>, Vec<Owner>);

#[derive(Default)]
pub struct GoferCache {
    inner: Mutex<Maps>,
}

#[derive(Default)]
struct Maps {
    /// Bumped by every invalidation.
    generation: u64,
    /// (mount, path as asked) → the host inode the name leads to (not followed).
    names: HashMap<(u32, String), (Instant, (u64, u64))>,
    /// (dev, ino) → attributes.
    attrs: HashMap<(u64, u64), (Instant, Stat)>,
    /// (mount, path, follow_last) → the walk's answer.
    walks: HashMap<(u32, String, bool), (Instant, Walked)>,
}

fn fresh(at: Instant, now: Instant) -> bool {
    now.saturating_duration_since(at) < REVALIDATE_AFTER
}

impl GoferCache {
    /// The generation to pass to the `put_*` calls for an answer about to
    /// be asked for.
    pub fn generation(&self) -> u64 {
        self.inner.lock().unwrap().generation
    }

    /// The attributes of `path` (a final symlink not followed), if known and fresh.
    pub fn lstat(&self, mount: u32, path: &str) -> Option<Stat> {
        let now = Instant::now();
        let m = self.inner.lock().unwrap();
        let (at, key) = m.names.get(&(mount, path.to_string()))?;
        if !fresh(*at, now) {
            return None;
        }
        let (at, st) = m.attrs.get(key)?;
        fresh(*at, now).then_some(*st)
    }

    /// Remembers the attributes of `path`, asked for at generation `gen`.
    pub fn put_lstat(&self, gen: u64, mount: u32, path: &str, st: &Stat) {
        let now = Instant::now();
        let mut m = self.inner.lock().unwrap();
        if m.generation != gen {
            return;
        }
        if m.names.len() >= MAX_ENTRIES || m.attrs.len() >= MAX_ENTRIES {
            m.names.clear();
            m.attrs.clear();
        }
        m.names.insert((mount, path.to_string()), (now, (st.dev, st.ino)));
        m.attrs.insert((st.dev, st.ino), (now, *st));
    }

    /// A walk's answer for `path`, if known and fresh.
    pub fn walk(&self, mount: u32, path: &str, follow_last: bool) -> Option<Walked> {
        let now = Instant::now();
        let m = self.inner.lock().unwrap();
        let (at, w) = m.walks.get(&(mount, path.to_string(), follow_last))?;
        fresh(*at, now).then(|| w.clone())
    }

    /// Remembers a walk's answer, asked for at generation `gen`.
    pub fn put_walk(&self, gen: u64, mount: u32, path: &str, follow_last: bool, w: &Walked) {
        let now = Instant::now();
        let mut m = self.inner.lock().unwrap();
        if m.generation != gen {
            return;
        }
        if m.walks.len() >= MAX_ENTRIES {
            m.walks.clear();
        }
        m.walks.insert((mount, path.to_string(), follow_last), (now, w.clone()));
    }

    /// The host inode (dev, ino) changed under a descriptor (write, truncate).
    pub fn forget_inode(&self, dev: u64, ino: u64) {
        let mut m = self.inner.lock().unwrap();
        m.generation += 1;
        m.attrs.remove(&(dev, ino));
    }

    /// The host inode `st` names changed under a descriptor and now has
    /// the attributes `st` (under every name that leads to it).
    pub fn refresh_inode(&self, st: &Stat) {
        let now = Instant::now();
        let mut m = self.inner.lock().unwrap();
        m.generation += 1;
        if m.attrs.contains_key(&(st.dev, st.ino)) {
            m.attrs.insert((st.dev, st.ino), (now, *st));
        }
    }

    /// The owner the gofer last reported for the host inode (dev, ino),
    /// however old: the sandbox cannot see host owners itself.
    pub fn owner(&self, dev: u64, ino: u64) -> Option<(u32, u32)> {
        self.inner.lock().unwrap().attrs.get(&(dev, ino)).map(|(_, st)| (st.uid, st.gid))
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut m = self.inner.lock().unwrap();
        m.generation += 1;
        m.names.clear();
        m.attrs.clear();
        m.walks.clear();
    }

    /// Called after the gofer answered `req` on `mount`: forgets what the
    /// request may have changed (whether it succeeded or not: a failed
    /// request may have done part of its work on a racing host). Most
    /// changes empty the cache; two that `tar -x` makes for every file are
    /// narrower, as they change no name and no walk:
    /// * an open that creates or truncates changes the file's attributes
    ///   and its directory's (size, times, link count);
    /// * a setattr of a file that is not a directory changes that file's
    ///   attributes (a directory's mode and owner are in the walks'
    ///   search checks, so those empty the cache).
    pub fn after(&self, mount: u32, req: &Request) {
        match req {
            Request::Stat { .. }
            | Request::OpenRead { .. }
            | Request::Readlink { .. }
            | Request::Readdir { .. }
            | Request::Statfs { .. }
            | Request::Walk { .. }
            | Request::Xattrs { .. } => {}
            Request::Open { flags, .. } if flags & (open_flags::O_CREAT | open_flags::O_TRUNC) == 0 => {}
            Request::Open { path, .. } => {
                let parent = match path.rsplit_once('/') {
                    Some(("", _)) => "/",
                    Some((dir, _)) => dir,
                    None => "/",
                };
                if !self.forget_names(mount, &[path, parent], false) {
                    self.clear();
                }
            }
            Request::SetAttr { path, .. } => {
                if !self.forget_names(mount, &[path], true) {
                    self.clear();
                }
            }
            _ => self.clear(),
        }
    }

    /// Forgets the attributes of the inodes `paths` lead to, where the
    /// cache knows them (false if it does not know one that exists in it
    /// under another spelling could hold stale attributes: when `paths[i]`
    /// for i > 0 is unknown; or, with `files_only`, when one is a
    /// directory or unknown).
    fn forget_names(&self, mount: u32, paths: &[&str], files_only: bool) -> bool {
        let mut m = self.inner.lock().unwrap();
        m.generation += 1;
        for (i, path) in paths.iter().enumerate() {
            let key = m.names.get(&(mount, path.to_string())).map(|(_, k)| *k);
            match key.and_then(|k| m.attrs.get(&k).map(|(_, st)| (k, st.mode & 0o170000 == 0o040000))) {
                Some((_, true)) if files_only => return false,
                Some((k, _)) => {
                    m.attrs.remove(&k);
                }
                // The file itself may be new (nothing to forget); its
                // directory must be known.
                None if files_only || i > 0 => return false,
                None => {}
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(ino: u64, size: i64) -> Stat {
        Stat { dev: 7, ino, size, ..Stat::default() }
    }

    #[test]
    fn remembers_and_forgets_an_inode_under_every_name() {
        let c = GoferCache::default();
        let g = c.generation();
        c.put_lstat(g, 1, "/a", &st(5, 10));
        c.put_lstat(g, 1, "/hardlink", &st(5, 10));
        assert_eq!(c.lstat(1, "/a").map(|s| s.size), Some(10));
        assert_eq!(c.lstat(2, "/a"), None, "another mount's name");
        c.forget_inode(7, 5);
        assert_eq!(c.lstat(1, "/a"), None);
        assert_eq!(c.lstat(1, "/hardlink"), None);
    }

    #[test]
    fn a_write_refreshes_the_inode_under_every_name() {
        let c = GoferCache::default();
        let g = c.generation();
        c.put_lstat(g, 1, "/a", &st(5, 10));
        c.put_lstat(g, 1, "/hardlink", &st(5, 10));
        c.refresh_inode(&st(5, 99));
        assert_eq!(c.lstat(1, "/hardlink").map(|s| s.size), Some(99));
        // An answer fetched before the write is not stored over it.
        c.put_lstat(g, 1, "/a", &st(5, 10));
        assert_eq!(c.lstat(1, "/a").map(|s| s.size), Some(99));
    }

    #[test]
    fn an_answer_from_before_a_change_is_not_stored() {
        let c = GoferCache::default();
        let g = c.generation();
        // The answer was fetched, then a write happened, then it is stored.
        c.forget_inode(7, 5);
        c.put_lstat(g, 1, "/a", &st(5, 10));
        c.put_walk(g, 1, "/a", true, &(None, vec![]));
        assert_eq!(c.lstat(1, "/a"), None);
        assert_eq!(c.walk(1, "/a", true), None);
    }

    #[test]
    fn changes_to_names_empty_the_cache() {
        let changes = [
            Request::Mkdir { path: "/d".into(), mode: 0o755, uid: 0, gid: 0 },
            Request::Rmdir { path: "/d".into() },
            Request::Unlink { path: "/a".into() },
            Request::Symlink { target: "x".into(), path: "/l".into(), uid: 0, gid: 0 },
            Request::Link { old: "/a".into(), new: "/b".into() },
            Request::Rename { old: "/a".into(), new: "/b".into(), flags: 0 },
            Request::MknodSocket { path: "/s".into(), mode: 0o755, uid: 0, gid: 0 },
            // A directory's mode is in the walks; an unknown file may be one.
            Request::SetAttr { path: "/d".into(), attr: Default::default() },
            Request::SetAttr { path: "/unknown".into(), attr: Default::default() },
            // A file made in a directory the cache does not know.
            Request::Open { path: "/x/n".into(), flags: open_flags::O_CREAT, mode: 0o644, uid: 0, gid: 0 },
        ];
        let c = GoferCache::default();
        for req in &changes {
            let g = c.generation();
            c.put_lstat(g, 1, "/a", &st(5, 10));
            c.put_lstat(g, 1, "/d", &Stat { mode: 0o40755, ..st(4, 0) });
            c.put_lstat(g, 1, "/d/sub", &st(6, 0));
            c.put_walk(g, 1, "/d/sub", false, &(None, vec![Owner { mode: 0o40755, uid: 0, gid: 0 }]));
            c.after(1, req);
            assert_eq!(c.lstat(1, "/a"), None, "{req:?}");
            assert_eq!(c.lstat(1, "/d/sub"), None, "{req:?}");
            assert_eq!(c.walk(1, "/d/sub", false), None, "{req:?}");
        }
    }

    #[test]
    fn creating_or_changing_a_file_forgets_it_and_its_directory_only() {
        let c = GoferCache::default();
        let fill = || {
            let g = c.generation();
            c.put_lstat(g, 1, "/d", &Stat { mode: 0o40755, ..st(4, 0) });
            c.put_lstat(g, 1, "/d/a", &st(5, 10));
            c.put_lstat(g, 1, "/d/hardlink", &st(5, 10));
            c.put_lstat(g, 1, "/other", &st(6, 0));
            c.put_walk(g, 1, "/d/a", false, &(None, vec![]));
        };
        fill();
        c.after(1, &Request::Open { path: "/d/n".into(), flags: open_flags::O_CREAT, mode: 0o644, uid: 0, gid: 0 });
        assert_eq!(c.lstat(1, "/d"), None, "the directory changed");
        assert!(c.lstat(1, "/d/a").is_some() && c.lstat(1, "/other").is_some() && c.walk(1, "/d/a", false).is_some());
        fill();
        c.after(1, &Request::Open { path: "/d/a".into(), flags: open_flags::O_TRUNC | 1, mode: 0, uid: 0, gid: 0 });
        assert_eq!(c.lstat(1, "/d/hardlink"), None, "truncated under every name");
        assert!(c.lstat(1, "/other").is_some());
        fill();
        c.after(1, &Request::SetAttr { path: "/d/a".into(), attr: Default::default() });
        assert_eq!(c.lstat(1, "/d/a"), None);
        assert!(c.lstat(1, "/d").is_some() && c.walk(1, "/d/a", false).is_some());
    }

    #[test]
    fn lookups_leave_the_cache_alone() {
        let reads = [
            Request::Stat { path: "/a".into(), follow: false },
            Request::Walk { path: "/a".into(), follow_last: true },
            Request::Readdir { path: "/".into(), cookie: 0 },
            Request::Open { path: "/a".into(), flags: 2, mode: 0, uid: 0, gid: 0 },
        ];
        let c = GoferCache::default();
        c.put_lstat(c.generation(), 1, "/a", &st(5, 10));
        for req in &reads {
            c.after(1, req);
        }
        assert!(c.lstat(1, "/a").is_some());
    }

    #[test]
    fn entries_expire() {
        let c = GoferCache::default();
        c.put_lstat(c.generation(), 1, "/a", &st(5, 10));
        {
            let mut m = c.inner.lock().unwrap();
            let old = Instant::now() - REVALIDATE_AFTER;
            for v in m.names.values_mut() {
                v.0 = old;
            }
        }
        assert_eq!(c.lstat(1, "/a"), None);
    }
}
