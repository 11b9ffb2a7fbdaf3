//! What a socket reports about itself to the outside: its TCP state and
//! queues for /proc/net and `TCP_INFO`, its owner and peer.

use super::*;

impl InetSocket {
    /// Linux's TCP state number (`TCP_ESTABLISHED` 1 ... `TCP_LISTEN` 10),
    /// derived from the connection and its shutdown bits.
    pub fn tcp_state(&self) -> u8 {
        let st = self.lock();
        match st.tcp {
            Tcp::Listening { .. } => 10,
            Tcp::Closed | Tcp::Refused => 7,
            Tcp::Connected { .. } if st.peer_end == PeerEnd::Reset => 7,
            Tcp::Connected { .. } if st.ext.conn.zip(stack()).is_some() => {
                let (id, stack) = st.ext.conn.zip(stack()).expect("checked");
                drop(st);
                stack.tcp_status(id).linux_state
            }
            // The peer closed and we have not finished: CLOSE_WAIT.
            Tcp::Connected { .. } if st.peer_end == PeerEnd::Gone && st.shutdown & SHUT_SEND == 0 => 8,
            Tcp::Connected { .. } => {
                drop(st);
                match self.stream.shutdown_bits() {
                    0 => 1,         // ESTABLISHED
                    SHUT_RCV => 8,  // CLOSE_WAIT: the peer finished
                    SHUT_SEND => 5, // FIN_WAIT2: we finished
                    _ => 7,         // CLOSE
                }
            }
        }
    }

    /// `struct tcp_info`: the state and plausible loopback figures.
    pub fn tcp_info(&self) -> Vec<u8> {
        let mut b = vec![0u8; 232];
        let state = self.tcp_state();
        b[0] = state;
        if state != 10 && state != 7 {
            b[5] = 0x7; // TCPI_OPT_TIMESTAMPS | SACK | WSCALE
            b[6] = 0x77; // window scale 7 both ways
        }
        let words: [(usize, u32); 12] = [
            (8, 204_000),      // rto (µs)
            (12, 40_000),      // ato
            (16, 32768),       // snd_mss
            (20, 536),         // rcv_mss
            (60, 65535),       // pmtu
            (64, 65483),       // rcv_ssthresh
            (68, 20),          // rtt
            (72, 10),          // rttvar
            (76, 0x7fff_ffff), // snd_ssthresh
            (80, 10),          // snd_cwnd
            (84, 65483),       // advmss
            (88, 3),           // reordering
        ];
        for (off, v) in words {
            b[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// Queued bytes for /proc/net: (transmit, receive).
    pub fn queues(&self) -> (usize, usize) {
        let st = self.lock();
        match self.proto {
            Proto::Udp | Proto::UdpLite | Proto::Icmp => (0, st.dgram_bytes),
            Proto::Tcp => match st.ext.conn.zip(stack()) {
                Some((id, stack)) => {
                    drop(st);
                    let s = stack.tcp_status(id);
                    (s.send_queue, s.recv_queue)
                }
                None => {
                    drop(st);
                    (0, self.stream.unread())
                }
            },
        }
    }

    pub fn uid(&self) -> u32 {
        self.uid
    }

    pub fn peer_or_zero(&self) -> Addr {
        self.lock().peer.unwrap_or(self.unspecified())
    }
}
