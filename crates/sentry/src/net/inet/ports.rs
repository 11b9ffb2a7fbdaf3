//! The port table: per protocol and port, the sockets bound there, with
//! Linux's bind-conflict rules and the ephemeral range (see `inet/mod.rs`).

use super::*;

#[derive(Default)]
pub(super) struct Table {
    ports: HashMap<(Proto, u16), Vec<Weak<InetSocket>>>,
    next_ephemeral: u16,
}

pub(super) fn table() -> MutexGuard<'static, Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner())
}

impl Table {
    pub(super) fn live(&self, proto: Proto, port: u16) -> Vec<Arc<InetSocket>> {
        self.ports.get(&(proto, port)).map(|v| v.iter().filter_map(Weak::upgrade).collect()).unwrap_or_default()
    }

    /// Whether `sock` may take `port` at `ip` (Linux's bind conflict rules).
    pub(super) fn conflicts(&self, sock: &InetSocket, ip: [u8; 16], port: u16) -> bool {
        let mine = AddrSet::of(ip, sock.family, sock.v6only.load(Ordering::Relaxed));
        let (reuse, reuseport) = (sock.reuseaddr.load(Ordering::Relaxed), sock.reuseport.load(Ordering::Relaxed));
        self.live(sock.proto, port).iter().any(|other| {
            if std::ptr::eq(&**other, sock) {
                return false;
            }
            let Some(theirs) = other.bound_set() else { return false };
            if !mine.overlaps(&theirs) {
                return false;
            }
            let listening = other.listening.load(Ordering::Relaxed);
            if reuse && other.reuseaddr.load(Ordering::Relaxed) && (sock.proto.is_dgram() || !listening) {
                return false;
            }
            !(reuseport && other.reuseport.load(Ordering::Relaxed) && other.uid == sock.uid)
        })
    }

    pub(super) fn insert(&mut self, sock: &Arc<InetSocket>, port: u16) {
        let list = self.ports.entry((sock.proto, port)).or_default();
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(sock));
    }

    pub(super) fn remove(&mut self, sock: &InetSocket, port: u16) {
        if let Some(list) = self.ports.get_mut(&(sock.proto, port)) {
            list.retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), sock));
            if list.is_empty() {
                self.ports.remove(&(sock.proto, port));
            }
        }
    }

    /// A free ephemeral port (no socket of the protocol holds it).
    pub(super) fn ephemeral(&mut self, proto: Proto) -> Result<u16, Errno> {
        let (lo, hi) = (*EPHEMERAL.start(), *EPHEMERAL.end());
        let span = hi - lo + 1;
        for _ in 0..span {
            let port = lo + self.next_ephemeral % span;
            self.next_ephemeral = self.next_ephemeral.wrapping_add(1) % span;
            if self.live(proto, port).is_empty() {
                return Ok(port);
            }
        }
        Err(Errno::EADDRINUSE)
    }
}

/// Every bound socket of `proto`, for /proc/net.
pub fn bound_sockets(proto: Proto) -> Vec<Arc<InetSocket>> {
    let t = table();
    let mut keys: Vec<_> = t.ports.keys().filter(|k| k.0 == proto).copied().collect();
    keys.sort_by_key(|k| k.1);
    keys.into_iter().flat_map(|(p, port)| t.live(p, port)).collect()
}
