//! The overlay's open descriptions: a file (whichever layer holds it) and a
//! directory (the merged listing).

use super::*;

/// The xattr calls of an overlay description, which go by its path (so
/// they follow the file's current name, not the open inode).
macro_rules! xattrs_by_path {
    () => {
        fn getxattr(&self, task: &Task, name: &str) -> Result<Vec<u8>, Errno> {
            self.fs.getxattr(&Who::of(task), &self.path, name)
        }
        fn setxattr(&self, task: &Task, name: &str, value: &[u8], flags: u32) -> Result<(), Errno> {
            self.fs.setxattr(&Who::of(task), &self.path, name, Some(value), flags)
        }
        fn listxattr(&self, task: &Task) -> Result<Vec<String>, Errno> {
            self.fs.listxattr(&Who::of(task), &self.path)
        }
        fn removexattr(&self, task: &Task, name: &str) -> Result<(), Errno> {
            self.fs.setxattr(&Who::of(task), &self.path, name, None, 0)
        }
    };
}

/// An open file of either layer, reporting the overlay's device and
/// inode numbers.
pub(super) struct OverlayFile {
    pub(super) inner: Arc<dyn FileDescription>,
    pub(super) fs: Arc<Inner>,
    pub(super) path: String,
    pub(super) upper: bool,
}

impl FileDescription for OverlayFile {
    fn flags(&self) -> u64 {
        self.inner.flags()
    }
    fn set_flags(&self, flags: u64) {
        self.inner.set_flags(flags)
    }
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        self.inner.read(buf)
    }
    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        self.inner.pread(buf, offset)
    }
    fn read_direct(
        &self,
        offset: Option<u64>,
        into: &mut dyn FnMut(std::os::fd::BorrowedFd<'_>, u64) -> Result<usize, Errno>,
    ) -> Option<Result<usize, Errno>> {
        self.inner.read_direct(offset, into)
    }
    fn write_direct(
        &self,
        offset: Option<u64>,
        from: &mut dyn FnMut(std::os::fd::BorrowedFd<'_>, u64) -> Result<usize, Errno>,
    ) -> Option<Result<usize, Errno>> {
        self.inner.write_direct(offset, from)
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        self.inner.write(data)
    }
    fn pwrite(&self, data: &[u8], offset: u64) -> Result<usize, Errno> {
        self.inner.pwrite(data, offset)
    }
    fn setattr(&self, task: &Task, attr: &SetAttr) -> Result<(), Errno> {
        if self.upper {
            return self.inner.setattr(task, attr);
        }
        // fchmod & co. on a lower file open for reading: the change goes
        // to a copy; this description keeps reading the lower data, which
        // is the same.
        self.fs.setattr(&Who::of(task), &self.path, attr)
    }
    fn sync(&self) -> Result<(), Errno> {
        Ok(())
    }
    fn fallocate(&self, mode: u32, offset: u64, len: u64) -> Result<(), Errno> {
        // Open for writing, so copied up: the upper file's.
        self.inner.fallocate(mode, offset, len)
    }
    fn shared_pages(
        &self,
        memfile: &Arc<memfile::MemoryFile>,
        offset: u64,
        len: u64,
    ) -> Result<Vec<Arc<crate::mm::SharedPages>>, Errno> {
        self.inner.shared_pages(memfile, offset, len)
    }
    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        self.inner.seek(offset, whence)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        let st = self.inner.stat()?;
        let ino = if self.upper { self.fs.upper_ino(&self.path, st.ino) } else { st.ino };
        Ok(Stat { dev: self.fs.dev, ino, ..st })
    }
    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        self.inner.ioctl(cmd)
    }
    fn statfs(&self) -> Result<Statfs, Errno> {
        self.fs.statfs()
    }
    fn path(&self) -> String {
        self.path.clone()
    }
    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        self.inner.host_fd()
    }
    xattrs_by_path!();
}

/// An open directory of the merged tree: its listing is taken when first
/// read (and again after a rewind).
pub(super) struct OverlayDir {
    pub(super) fs: Arc<Inner>,
    pub(super) path: String,
    pub(super) flags: Mutex<u64>,
    pub(super) pos: Mutex<u64>,
    pub(super) entries: Mutex<Option<Vec<Entry>>>,
}

impl OverlayDir {
    pub(super) fn node(&self) -> Result<Node, Errno> {
        self.fs.node(&Who::root(), &self.path)?.ok_or(Errno::ENOENT)
    }
}

impl FileDescription for OverlayDir {
    fn flags(&self) -> u64 {
        *self.flags.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn set_flags(&self, flags: u64) {
        *self.flags.lock().unwrap_or_else(|e| e.into_inner()) = flags;
    }
    fn read(&self, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn pread(&self, _buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let mut pos = self.pos.lock().unwrap_or_else(|e| e.into_inner());
        let new = crate::vfs::seek_target(*pos, offset, whence, None)?;
        if new == 0 {
            *self.entries.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        *pos = new;
        Ok(*pos)
    }
    fn readdir(&self, emit: &mut dyn FnMut(&DirEntry<'_>) -> bool) -> Result<(), Errno> {
        let mut pos = self.pos.lock().unwrap_or_else(|e| e.into_inner());
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.is_none() {
            let mut all = Vec::new();
            if let Ok(node) = self.node() {
                let (parent, _) = split(&self.path);
                let parent_ino = self.fs.node(&Who::root(), parent)?.map_or(0, |n| self.fs.ino(parent, &n));
                all.push((b".".to_vec(), self.fs.ino(&self.path, &node), crate::fs::synthetic::dtype(S_IFDIR)));
                all.push((b"..".to_vec(), parent_ino, crate::fs::synthetic::dtype(S_IFDIR)));
                all.extend(self.fs.entries(&self.path, &node)?);
            }
            *entries = Some(all);
        }
        let all = entries.as_ref().expect("just filled");
        for (name, ino, d_type) in all.iter().skip(*pos as usize) {
            let e = DirEntry { ino: *ino, next_off: *pos as i64 + 1, d_type: *d_type, name };
            if !emit(&e) {
                break;
            }
            *pos += 1;
        }
        Ok(())
    }
    fn stat(&self) -> Result<Stat, Errno> {
        let node = self.node()?;
        Ok(self.fs.merged_stat(&self.path, &node))
    }
    fn setattr(&self, task: &Task, attr: &SetAttr) -> Result<(), Errno> {
        self.fs.setattr(&Who::of(task), &self.path, attr)
    }
    fn sync(&self) -> Result<(), Errno> {
        Ok(())
    }
    fn statfs(&self) -> Result<Statfs, Errno> {
        self.fs.statfs()
    }
    fn path(&self) -> String {
        self.path.clone()
    }
    xattrs_by_path!();
}
