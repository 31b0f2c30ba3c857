//! The listening TCP sockets, asked of the kernel over netlink `sock_diag` (`NETLINK_SOCK_DIAG`,
//! `SOCK_DIAG_BY_FAMILY` with only `TCP_LISTEN` in the state mask), as `ss -lt` does.
//!
//! Why not /proc/net/tcp alone: to print that file the kernel walks the whole established-connections
//! hash table, sized by RAM (262 144 buckets on a 24 GB machine), whoever has sockets in it; a read of
//! tcp and tcp6 cost ≈ 9 ms of kernel CPU here, on every RASP re-check of a capture. Asked for
//! listeners only, the kernel walks the listening table alone. Same sockets, same inodes (a test
//! compares both on this machine); /proc/net stays the fallback where netlink is refused (Android's
//! SELinux policy denies apps `sock_diag`; 10+ denies /proc/net too, and the check then probes
//! Frida's default ports).
//!
//! The answer is parsed defensively: every length is checked against the datagram, messages of
//! another sequence number are skipped, and the dump is bounded in reads and sockets.

// Only asked where there is netlink (Linux, Android); the parser is compiled everywhere for the fuzzer.
#![cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]

use super::ports::Listener;
use super::sys::Errno;

/// `NETLINK_SOCK_DIAG` (linux/netlink.h).
const NETLINK_SOCK_DIAG: i32 = 4;
/// `SOCK_DIAG_BY_FAMILY` (linux/sock_diag.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `NLM_F_REQUEST | NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
const REQUEST_DUMP: u16 = 0x1 | 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;
/// `TCP_LISTEN` in the kernel's state numbering (include/net/tcp_states.h).
const TCP_LISTEN: u8 = 10;
/// `struct nlmsghdr`.
const HEADER: usize = 16;
/// `struct inet_diag_req_v2`: family, protocol, ext, pad, states (u32), `struct inet_diag_sockid` (48).
const REQUEST: usize = 56;
/// `struct inet_diag_msg`: family, state, timer, retrans, the sockid (48), expires, rqueue, wqueue,
/// uid, inode (u32 each).
const MESSAGE: usize = 72;
/// A datagram of the dump: the kernel fills at most what the reader's buffer held before (≤ 32 KiB).
const DATAGRAM: usize = 64 << 10;
/// Bounds on one family's dump: a device has tens of listeners, not thousands.
const MAX_READS: usize = 256;
const MAX_LISTENERS: usize = 4096;

/// The listening TCP sockets of both families (IPv4 then IPv6), or why the kernel would not say.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn listeners() -> Result<Vec<Listener>, Errno> {
    let socket = super::sys::Netlink::open(NETLINK_SOCK_DIAG)?;
    let mut buf = vec![0u8; DATAGRAM];
    let mut out = Vec::new();
    for (seq, family) in [(1u32, AF_INET), (2, AF_INET6)] {
        if socket.send(&request(family, seq))? != REQUEST + HEADER {
            return Err(Errno::EIO);
        }
        let mut done = false;
        for _ in 0..MAX_READS {
            let n = socket.recv(&mut buf)?;
            if n == 0 {
                return Err(Errno::EIO);
            }
            done = parse_datagram(buf.get(..n).unwrap_or(&buf), seq, &mut out)?;
            if done {
                break;
            }
            if out.len() > MAX_LISTENERS {
                return Err(Errno::EIO);
            }
        }
        if !done {
            return Err(Errno::EIO);
        }
    }
    Ok(out)
}

/// The dump request for `family`'s listening TCP sockets.
fn request(family: u8, seq: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEADER + REQUEST);
    m.extend_from_slice(&((HEADER + REQUEST) as u32).to_ne_bytes());
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&REQUEST_DUMP.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // to the kernel
    m.extend_from_slice(&[family, IPPROTO_TCP, 0, 0]);
    m.extend_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    m.resize(HEADER + REQUEST, 0); // any socket id: the whole table
    m
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Adds the listeners in one datagram of the answer to request `seq` to `out`: `Ok(true)` once the
/// dump is done, an error when the kernel answered one (or the datagram is malformed).
#[doc(hidden)]
pub fn parse_datagram(mut b: &[u8], seq: u32, out: &mut Vec<Listener>) -> Result<bool, Errno> {
    while b.len() >= HEADER {
        let (Some(len), Some(ty), Some(got_seq)) = (u32_at(b, 0), u16_at(b, 4), u32_at(b, 8))
        else {
            return Err(Errno::EIO);
        };
        let len = usize::try_from(len).map_err(|_| Errno::EIO)?;
        let body = b.get(HEADER..len).ok_or(Errno::EIO)?;
        if got_seq == seq {
            match ty {
                NLMSG_DONE => return Ok(true),
                NLMSG_ERROR => {
                    // `struct nlmsgerr`: a negative errno first.
                    let e = u32_at(body, 0).map_or(0, |e| e as i32);
                    return Err(Errno(e.checked_neg().filter(|e| *e > 0).unwrap_or(5)));
                }
                SOCK_DIAG_BY_FAMILY => {
                    if let Some(l) = listener(body) {
                        out.push(l);
                    }
                }
                _ => {}
            }
        }
        b = b.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    Ok(false)
}

/// A listener from one `struct inet_diag_msg`; `None` when it is not one (wrong length, family or
/// state).
fn listener(m: &[u8]) -> Option<Listener> {
    if m.len() < MESSAGE || m[1] != TCP_LISTEN {
        return None;
    }
    // The port is in network order; the address is the network-order bytes.
    let port = u16::from_be_bytes([m[4], m[5]]);
    let inode = u64::from(u32_at(m, 68)?);
    let address = match m[0] {
        AF_INET => &m[8..12],
        AF_INET6 => &m[8..24],
        _ => return None,
    };
    Listener::bound_to(port, address, inode)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// One netlink message: header and body, padded to 4 bytes.
    fn message(ty: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((HEADER + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&4242u32.to_ne_bytes());
        m.extend_from_slice(body);
        m.resize(m.len().next_multiple_of(4), 0);
        m
    }

    fn diag(family: u8, state: u8, port: u16, addr: &[u8], inode: u32) -> Vec<u8> {
        let mut m = vec![0u8; MESSAGE];
        m[0] = family;
        m[1] = state;
        m[4..6].copy_from_slice(&port.to_be_bytes());
        m[8..8 + addr.len()].copy_from_slice(addr);
        m[68..72].copy_from_slice(&inode.to_ne_bytes());
        m
    }

    #[test]
    fn the_request_asks_for_tcp_listeners_of_one_family() {
        let r = request(AF_INET6, 7);
        assert_eq!(r.len(), 72);
        assert_eq!(u32_at(&r, 0), Some(72));
        assert_eq!(u16_at(&r, 4), Some(20));
        assert_eq!(u16_at(&r, 6), Some(0x301));
        assert_eq!(u32_at(&r, 8), Some(7));
        assert_eq!(&r[16..20], &[10, 6, 0, 0]);
        assert_eq!(u32_at(&r, 20), Some(1 << 10));
        assert!(r[24..].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_dump_is_parsed_and_its_end_found() {
        let mut d = message(20, 1, &diag(AF_INET, 10, 8080, &[127, 0, 0, 1], 1111));
        d.extend(message(20, 1, &diag(AF_INET, 10, 27042, &[0; 4], 2222)));
        d.extend(message(
            20,
            1,
            &diag(AF_INET, 10, 80, &[10, 0, 2, 15], 3333),
        ));
        // Not a listener, a stray answer to another request, and a short message: all ignored.
        d.extend(message(
            20,
            1,
            &diag(AF_INET, 1, 443, &[127, 0, 0, 1], 4444),
        ));
        d.extend(message(
            20,
            9,
            &diag(AF_INET, 10, 9999, &[127, 0, 0, 1], 5555),
        ));
        d.extend(message(20, 1, &[AF_INET, 10, 0, 0]));
        let mut out = Vec::new();
        assert_eq!(parse_datagram(&d, 1, &mut out), Ok(false), "no DONE yet");
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out[0].loopback && !out[0].any && out[0].port == 8080 && out[0].inode == 1111);
        assert!(out[1].any && !out[1].loopback && out[1].port == 27042);
        assert!(!out[2].loopback && !out[2].any && !out[2].v6);

        let mut mapped = [0u8; 16];
        mapped[10..12].copy_from_slice(&[0xff, 0xff]);
        mapped[12..].copy_from_slice(&[127, 0, 0, 1]);
        let mut one = [0u8; 16];
        one[15] = 1;
        let mut d = message(20, 2, &diag(AF_INET6, 10, 8081, &one, 6666));
        d.extend(message(20, 2, &diag(AF_INET6, 10, 8082, &mapped, 7777)));
        d.extend(message(20, 2, &diag(AF_INET6, 10, 8083, &[0; 16], 8888)));
        d.extend(message(NLMSG_DONE, 2, &0u32.to_ne_bytes()));
        d.extend(message(20, 2, &diag(AF_INET6, 10, 8084, &one, 9999)));
        let mut out = Vec::new();
        assert_eq!(parse_datagram(&d, 2, &mut out), Ok(true));
        assert_eq!(out.len(), 3, "nothing after DONE: {out:?}");
        assert!(out.iter().all(|l| l.v6));
        assert!(out[0].loopback && out[1].loopback && out[2].any);
    }

    #[test]
    fn errors_and_malformed_datagrams_are_errors_not_panics() {
        let mut out = Vec::new();
        let err = message(NLMSG_ERROR, 1, &(-13i32).to_ne_bytes());
        assert_eq!(parse_datagram(&err, 1, &mut out), Err(Errno::EACCES));
        // A length past the datagram, or shorter than a header.
        let mut d = message(20, 1, &diag(AF_INET, 10, 1, &[127, 0, 0, 1], 1));
        d[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert_eq!(parse_datagram(&d, 1, &mut out), Err(Errno::EIO));
        d[0..4].copy_from_slice(&3u32.to_ne_bytes());
        assert_eq!(parse_datagram(&d, 1, &mut out), Err(Errno::EIO));
        // A trailing fragment shorter than a header ends the datagram.
        assert_eq!(parse_datagram(&[1, 2, 3], 1, &mut out), Ok(false));
        assert!(out.is_empty());
    }
}
