//! An inet socket as an open file description: read/write, ioctl,
//! readiness and the rest of what the VFS asks of a socket.

use super::*;

/// A socket as an open file description.
pub struct InetFile {
    pub sock: Arc<InetSocket>,
    flags: crate::vfs::StatusFlags,
}

impl InetFile {
    pub fn new(sock: Arc<InetSocket>, nonblock: bool) -> InetFile {
        InetFile { sock, flags: crate::vfs::StatusFlags::new(nonblock) }
    }
}

impl Drop for InetFile {
    fn drop(&mut self) {
        self.sock.close();
    }
}

impl FileDescription for InetFile {
    fn flags(&self) -> u64 {
        self.flags.get()
    }

    fn set_flags(&self, flags: u64) {
        self.flags.set(flags);
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() && self.sock.proto == Proto::Tcp {
            return Ok(0);
        }
        let r = self.sock.recv(buf.len(), false, self.flags.nonblocking())?;
        buf[..r.data.len()].copy_from_slice(&r.data);
        Ok(r.data.len())
    }

    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        self.sock.send(None, data, SendCtl::default())
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(crate::net::socket_stat(self.sock.ino))
    }

    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        match cmd {
            ioctl::FIONREAD => Ok(IoctlReply::Out((self.sock.unread()? as i32).to_le_bytes().to_vec())),
            // SIOCOUTQ: loopback hands data over at once.
            ioctl::TIOCOUTQ => Ok(IoctlReply::Out((self.sock.queues().0 as i32).to_le_bytes().to_vec())),
            _ => Err(Errno::ENOTTY),
        }
    }

    fn path(&self) -> String {
        crate::net::socket_path(self.sock.ino)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(self.sock.queue())
    }

    fn readiness(&self, _mask: u32) -> u32 {
        self.sock.readiness()
    }

    fn pollable(&self) -> bool {
        true
    }

    fn as_socket(&self) -> Option<crate::net::SocketRef<'_>> {
        Some(crate::net::SocketRef::Inet(self))
    }
}
