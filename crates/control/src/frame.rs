//! Length-prefixed JSON frames with file descriptors attached.

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags,
};
use serde::{de::DeserializeOwned, Serialize};
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// The largest frame either side accepts; anything larger is a protocol error.
pub const MAX_FRAME: usize = 1 << 20;
/// The most descriptors one frame may carry.
pub const MAX_FDS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("the peer closed the connection")]
    Closed,
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Decode(#[from] serde_json::Error),
}

/// Writes one frame carrying `msg` and `fds`.
pub fn send_frame<T: Serialize>(stream: &UnixStream, msg: &T, fds: &[OwnedFd]) -> Result<(), FrameError> {
    let body = serde_json::to_vec(msg)?;
    if body.len() > MAX_FRAME {
        return Err(FrameError::TooLarge(body.len()));
    }
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
    buf.extend_from_slice(&body);
    let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut ancillary = SendAncillaryBuffer::new(&mut space);
    if !borrowed.is_empty() && !ancillary.push(SendAncillaryMessage::ScmRights(&borrowed)) {
        return Err(FrameError::Io(std::io::Error::other("too many descriptors for one frame")));
    }
    // The descriptors go with the first chunk; the rest is plain stream data.
    let sent =
        sendmsg(stream, &[IoSlice::new(&buf)], &mut ancillary, SendFlags::NOSIGNAL).map_err(std::io::Error::from)?;
    let mut w = stream;
    w.write_all(&buf[sent..])?;
    Ok(())
}

/// Reads one frame, returning the message and the descriptors that came
/// with it.
/// Polls `stream` for a frame without sleeping, for at most `spin`;
/// true once one is there. A request–answer exchange between two
/// processes that each sleep in `recv` pays two cross-CPU wake-ups (about
/// 100 µs on the machines moat is measured on); one that spins while the
/// other side is briefly busy pays none.
pub fn spin_until_readable(stream: &UnixStream, spin: std::time::Duration) -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let deadline = std::time::Instant::now() + spin;
    loop {
        let mut fds = [PollFd::new(stream, PollFlags::IN)];
        if matches!(poll(&mut fds, Some(&Timespec { tv_sec: 0, tv_nsec: 0 })), Ok(n) if n > 0) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        // The other side may be waiting for this CPU (woken onto it).
        std::thread::yield_now();
    }
}

pub fn recv_frame<T: DeserializeOwned>(stream: &UnixStream) -> Result<(T, Vec<OwnedFd>), FrameError> {
    let mut len = [0u8; 4];
    let mut fds = Vec::new();
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let got = {
        let mut ancillary = RecvAncillaryBuffer::new(&mut space);
        let mut iov = [IoSliceMut::new(&mut len)];
        let msg = recvmsg(stream, &mut iov, &mut ancillary, RecvFlags::CMSG_CLOEXEC).map_err(std::io::Error::from)?;
        for cmsg in ancillary.drain() {
            if let RecvAncillaryMessage::ScmRights(received) = cmsg {
                fds.extend(received);
            }
        }
        msg.bytes
    };
    if got == 0 {
        return Err(FrameError::Closed);
    }
    let mut r = stream;
    r.read_exact(&mut len[got..]).map_err(eof_is_closed)?;
    let n = u32::from_le_bytes(len) as usize;
    if n > MAX_FRAME {
        return Err(FrameError::TooLarge(n));
    }
    let mut body = vec![0u8; n];
    r.read_exact(&mut body).map_err(eof_is_closed)?;
    Ok((serde_json::from_slice(&body)?, fds))
}

fn eof_is_closed(e: std::io::Error) -> FrameError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        FrameError::Closed
    } else {
        FrameError::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Request, Response};

    #[test]
    fn frames_round_trip_with_fds() {
        let (a, b) = UnixStream::pair().unwrap();
        let (p, _q) = UnixStream::pair().unwrap();
        send_frame(&a, &Request::Signal { signo: 9, all: false }, &[OwnedFd::from(p)]).unwrap();
        let (req, fds): (Request, _) = recv_frame(&b).unwrap();
        assert_eq!(req, Request::Signal { signo: 9, all: false });
        assert_eq!(fds.len(), 1);
        send_frame(&b, &Response::Ok, &[]).unwrap();
        let (resp, fds): (Response, _) = recv_frame(&a).unwrap();
        assert_eq!(resp, Response::Ok);
        assert!(fds.is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut w = &a;
        w.write_all(&5u32.to_le_bytes()).unwrap();
        w.write_all(b"{oops").unwrap();
        assert!(matches!(recv_frame::<Request>(&b), Err(FrameError::Decode(_))));
        w.write_all(&u32::MAX.to_le_bytes()).unwrap();
        assert!(matches!(recv_frame::<Request>(&b), Err(FrameError::TooLarge(_))));
        drop(a);
        assert!(matches!(recv_frame::<Request>(&b), Err(FrameError::Closed)));
    }
}
