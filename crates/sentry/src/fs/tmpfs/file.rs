//! A tmpfs file's open description: reads, writes and mappings of its
//! pages, which live in the file system's inode table (`super::State`).

use super::*;

/// An open tmpfs file or directory.
pub(super) struct TmpFile {
    pub(super) fs: Arc<Shared>,
    pub(super) ino: u64,
    pub(super) path: String,
    pub(super) flags: AtomicU64,
    /// The file offset; for directories, the index of the next entry.
    pub(super) pos: Mutex<u64>,
}

impl TmpFile {
    pub(super) fn is_dir(&self) -> bool {
        self.fs.lock().get(self.ino).is_dir()
    }
}

impl Drop for TmpFile {
    fn drop(&mut self) {
        let mut st = self.fs.lock();
        st.get_mut(self.ino).open -= 1;
        st.maybe_free(self.ino);
    }
}

impl FileDescription for TmpFile {
    fn flags(&self) -> u64 {
        self.flags.load(Ordering::Relaxed)
    }
    fn set_flags(&self, flags: u64) {
        self.flags.store(flags, Ordering::Relaxed);
    }
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut pos = self.pos.lock().unwrap_or_else(|e| e.into_inner());
        let n = self.fs.lock().read(self.ino, buf, *pos)?;
        *pos += n as u64;
        Ok(n)
    }
    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        self.fs.lock().read(self.ino, buf, offset)
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let mut pos = self.pos.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = self.fs.lock();
        if self.flags() & fcntl::O_APPEND != 0 {
            if let Data::File { size, .. } = st.get(self.ino).data {
                *pos = size;
            }
        }
        let n = st.write(self.ino, data, *pos)?;
        *pos += n as u64;
        Ok(n)
    }
    fn shared_pages(&self, memfile: &Arc<MemoryFile>, offset: u64, len: u64) -> Result<Vec<Arc<SharedPages>>, Errno> {
        self.fs.lock().share_pages(self.ino, memfile, offset, len)
    }
    fn pwrite(&self, data: &[u8], offset: u64) -> Result<usize, Errno> {
        let mut st = self.fs.lock();
        // Linux appends even for pwrite on an O_APPEND description.
        let offset = match st.get(self.ino).data {
            Data::File { size, .. } if self.flags() & fcntl::O_APPEND != 0 => size,
            _ => offset,
        };
        st.write(self.ino, data, offset)
    }
    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let mut pos = self.pos.lock().unwrap_or_else(|e| e.into_inner());
        let size = match self.fs.lock().get(self.ino).data {
            Data::File { size, .. } => size,
            _ => 0,
        };
        *pos = crate::vfs::seek_target(*pos, offset, whence, Some(size))?;
        Ok(*pos)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.fs.lock().stat(self.fs.dev, self.ino))
    }
    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(self.fs.statfs())
    }
    fn setattr(&self, task: &Task, attr: &SetAttr) -> Result<(), Errno> {
        self.fs.writable()?;
        self.fs.lock().setattr(&task.creds, self.ino, attr, true)
    }
    fn sync(&self) -> Result<(), Errno> {
        // Memory is the backing store: nothing to write back.
        Ok(())
    }
    fn fallocate(&self, mode: u32, offset: u64, len: u64) -> Result<(), Errno> {
        self.fs.writable()?;
        self.fs.lock().fallocate(self.ino, mode, offset, len)
    }
    fn getxattr(&self, task: &Task, name: &str) -> Result<Vec<u8>, Errno> {
        self.fs.lock().getxattr(self.fs.dev, &task.creds, self.ino, name)
    }
    fn setxattr(&self, task: &Task, name: &str, value: &[u8], flags: u32) -> Result<(), Errno> {
        self.fs.writable()?;
        self.fs.lock().setxattr(self.fs.dev, &task.creds, self.ino, name, Some(value), flags)
    }
    fn listxattr(&self, task: &Task) -> Result<Vec<String>, Errno> {
        Ok(xattr::list(&self.fs.lock().get(self.ino).xattrs, &task.creds))
    }
    fn removexattr(&self, task: &Task, name: &str) -> Result<(), Errno> {
        self.fs.writable()?;
        self.fs.lock().setxattr(self.fs.dev, &task.creds, self.ino, name, None, 0)
    }
    fn readdir(&self, emit: &mut dyn FnMut(&DirEntry<'_>) -> bool) -> Result<(), Errno> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut pos = self.pos.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = self.fs.lock();
        let i = st.get(self.ino);
        let Data::Dir { entries, parent } = &i.data else { return Err(Errno::ENOTDIR) };
        // A directory removed while open lists nothing, as on Linux.
        let dots: &[(&str, u64)] = if i.nlink == 0 { &[] } else { &[(".", self.ino), ("..", *parent)] };
        let all =
            dots.iter().map(|(n, ino)| ((*n).to_string(), *ino)).chain(entries.iter().map(|(n, i)| (n.clone(), *i)));
        for (name, ino) in all.skip(*pos as usize) {
            let d_type = synthetic::dtype(st.get(ino).mode);
            let entry = DirEntry { ino, next_off: *pos as i64 + 1, d_type, name: name.as_bytes() };
            if !emit(&entry) {
                break;
            }
            *pos += 1;
        }
        st.get_mut(self.ino).atime = synthetic::now();
        Ok(())
    }
    fn path(&self) -> String {
        self.path.clone()
    }
}
