//! frida-server on this device, found by how it answers, not by its port number alone.
//!
//! Where the kernel lists the listening TCP sockets (netlink `sock_diag` on Linux, else
//! /proc/net/tcp{,6}: Android before 10), every socket listening on a loopback address is probed, and one
//! listening on every address only on Frida's default ports (another port bound to every address is a
//! network service of the device, not ours to poke); where it does not (Android 10+ denies apps both),
//! Frida's default ports are. A probe is a loopback connection with a short timeout and a protocol
//! fingerprint:
//!
//! - D-Bus (frida-server before 15): `"\0AUTH\r\n"` is answered `REJECTED …`;
//! - WebSocket (15+: D-Bus over WebSocket at `/ws`): the upgrade is accepted (101) and a D-Bus
//!   `Peer.Ping` sent in a frame is answered with a D-Bus reply; or a `Server: Frida/…` header; or, on
//!   one of Frida's default ports, the upgrade at `/ws` alone.
//!
//! Only a fingerprint match is a finding. Verdicts for listening sockets the kernel listed are
//! remembered by socket inode, so each socket is probed once per process. Without a listing the default
//! ports' result is remembered for [`DEFAULT_PORTS_TTL`]. A run has one deadline ([`RUN_DEADLINE`]):
//! every connect, write and read is bounded by the time left, so a listener that accepts and then
//! drips bytes, or many listeners, cannot hold the capture thread longer.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Finding, FsRoot, Severity, SkippedCheck, Threat};

/// Frida's default control and cluster ports, and ports its tools commonly pick next.
pub const FRIDA_PORTS: &[u16] = &[27042, 27043, 27047, 27052];

/// Longest single connect, write or read (less when the run's deadline is nearer).
const STEP: Duration = Duration::from_millis(50);
/// All probing of one run, connects and reads included, ends by then.
pub const RUN_DEADLINE: Duration = Duration::from_millis(250);
/// Listeners probed per run (those known from earlier runs are free).
const MAX_PROBES: usize = 16;
/// Without a listing (Android 10+), how long the default ports' result is reused instead of probing
/// them again on every run.
pub const DEFAULT_PORTS_TTL: Duration = Duration::from_secs(10);

/// The end of a run's probing.
#[derive(Debug, Clone, Copy)]
struct Deadline(Instant);

impl Deadline {
    fn after(d: Duration) -> Self {
        Self(Instant::now() + d)
    }

    /// Time left for one step: at most [`STEP`], `None` when (nearly) out of time.
    fn step(self) -> Option<Duration> {
        let left = self.0.saturating_duration_since(Instant::now());
        (left >= Duration::from_millis(1)).then_some(left.min(STEP))
    }

    fn passed(self) -> bool {
        self.step().is_none()
    }
}

/// A listening TCP socket from /proc/net/tcp{,6} or `sock_diag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub port: u16,
    pub v6: bool,
    /// Bound to a loopback address (127/8, ::1, ::ffff:127/104).
    pub loopback: bool,
    /// Bound to the wildcard address (reachable on loopback too).
    pub any: bool,
    pub inode: u64,
}

impl Listener {
    /// A listener bound to `address`, its network-order bytes: 4 for IPv4, 16 for IPv6.
    pub(super) fn bound_to(port: u16, address: &[u8], inode: u64) -> Option<Self> {
        let (loopback, any, v6) = match address.len() {
            4 => (address[0] == 127, address.iter().all(|&b| b == 0), false),
            16 => {
                let a = Ipv6Addr::from(<[u8; 16]>::try_from(address).ok()?);
                let mapped_loopback = a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback());
                (a.is_loopback() || mapped_loopback, a.is_unspecified(), true)
            }
            _ => return None,
        };
        Some(Self {
            port,
            v6,
            loopback,
            any,
            inode,
        })
    }
}

/// The listening sockets (state `0A`) in the text of /proc/net/tcp (`v6` = false) or tcp6.
pub fn listeners(text: &str, v6: bool) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != "0A" {
                return None;
            }
            let (addr, port) = cols[1].split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            let inode = cols[9].parse().ok()?;
            // The address is printed as native-endian 32-bit words of the network-order bytes.
            let bytes: Vec<u8> = (0..addr.len() / 8)
                .map(|i| u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok())
                .collect::<Option<Vec<u32>>>()?
                .into_iter()
                .flat_map(u32::to_ne_bytes)
                .collect();
            // tcp lists IPv4 addresses only, tcp6 IPv6 ones.
            let family_len = if v6 { 16 } else { 4 };
            (bytes.len() == family_len)
                .then(|| Listener::bound_to(port, &bytes, inode))
                .flatten()
        })
        .collect()
}

/// Verdicts by (port, socket inode): a listening socket is probed once.
static VERDICTS: Mutex<BTreeMap<(u16, u64), Option<&'static str>>> = Mutex::new(BTreeMap::new());
const MAX_VERDICTS: usize = 1024;

fn finding(port: u16, how: &str) -> Finding {
    Finding::new(
        Threat::Hooking,
        Severity::High,
        "hooking.frida_port",
        format!("a loopback server on port {port} answers like frida-server ({how})"),
    )
}

/// Where the live check takes its listeners from: /proc/net (the default), or, in tests, a given
/// table (so assertions do not depend on the host's own loopback services) or the no-/proc/net path
/// with a given port list.
#[cfg(feature = "test-support")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerSource {
    System,
    /// The text of /proc/net/tcp and /proc/net/tcp6.
    Tables {
        tcp: String,
        tcp6: String,
    },
    /// As if /proc/net were denied, probing these ports instead of Frida's.
    DefaultPorts(Vec<u16>),
}

#[cfg(feature = "test-support")]
static SOURCE: Mutex<Option<ListenerSource>> = Mutex::new(None);

/// Replaces where the live check takes its listeners from (test-support builds only).
#[cfg(feature = "test-support")]
pub fn set_listener_source(source: ListenerSource) {
    *SOURCE.lock().unwrap_or_else(|e| e.into_inner()) = Some(source);
    *DEFAULT_PORTS.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The listener tables to use on the system root: `Ok(None)` means "probe `ports` blind".
fn live_tables(root: &FsRoot) -> (Option<Vec<Listener>>, Option<super::Unreadable>, Vec<u16>) {
    #[cfg(feature = "test-support")]
    match SOURCE.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        Some(ListenerSource::Tables { tcp, tcp6 }) => {
            let mut t = listeners(&tcp, false);
            t.extend(listeners(&tcp6, true));
            return (Some(t), None, FRIDA_PORTS.to_vec());
        }
        Some(ListenerSource::DefaultPorts(ports)) => {
            return (None, Some(super::Unreadable::Denied), ports);
        }
        Some(ListenerSource::System) | None => {}
    }
    let (table, why) = system_tables(root);
    (table, why, FRIDA_PORTS.to_vec())
}

/// Set once the kernel refused `sock_diag` to this process (Android's SELinux policy for apps, a
/// seccomp filter): asking again on every run would only fill the log with denials.
#[cfg(any(target_os = "linux", target_os = "android"))]
static SOCK_DIAG_REFUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Where the last live listing came from (test-support builds: tests assert which path ran).
#[cfg(feature = "test-support")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    SockDiag,
    ProcNet,
    Neither,
}

#[cfg(feature = "test-support")]
static LAST_LISTING: Mutex<Option<Listing>> = Mutex::new(None);

/// Where the last live listing of this process came from, if there was one.
#[cfg(feature = "test-support")]
pub fn last_listing() -> Option<Listing> {
    *LAST_LISTING.lock().unwrap_or_else(|e| e.into_inner())
}

/// This device's listeners: from the kernel over netlink (listeners only: cheap), else from
/// /proc/net (the kernel prints every socket to it).
fn system_tables(root: &FsRoot) -> (Option<Vec<Listener>>, Option<super::Unreadable>) {
    #[cfg(feature = "test-support")]
    let note = |l: Listing| *LAST_LISTING.lock().unwrap_or_else(|e| e.into_inner()) = Some(l);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::sync::atomic::Ordering;
        if !SOCK_DIAG_REFUSED.load(Ordering::Relaxed) {
            match super::sockdiag::listeners() {
                Ok(table) => {
                    #[cfg(feature = "test-support")]
                    note(Listing::SockDiag);
                    return (Some(table), None);
                }
                Err(e) if super::Unreadable::from_errno(e) == super::Unreadable::Failed => {}
                Err(_) => SOCK_DIAG_REFUSED.store(true, Ordering::Relaxed),
            }
        }
    }
    let (table, why) = read_tables(root);
    #[cfg(feature = "test-support")]
    note(if table.is_some() {
        Listing::ProcNet
    } else {
        Listing::Neither
    });
    (table, why)
}

pub(super) fn read_tables(root: &FsRoot) -> (Option<Vec<Listener>>, Option<super::Unreadable>) {
    let mut table: Option<Vec<Listener>> = None;
    let mut why = None;
    for (path, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        match root.read_checked(path) {
            Ok(text) => table
                .get_or_insert_with(Vec::new)
                .extend(listeners(&text, v6)),
            Err(e) => {
                why.get_or_insert(e);
            }
        }
    }
    (table, why)
}

pub fn check(root: &FsRoot, skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
    if !root.is_system() {
        let (table, why) = read_tables(root);
        // A fixture tree cannot be connected to: a listener on Frida's port is what it can show.
        let Some(table) = table else {
            skipped.push(SkippedCheck::new(
                "hooking.frida_port",
                format!(
                    "/proc/net/tcp: {}",
                    why.map_or("unreadable", |e| e.describe())
                ),
            ));
            return Vec::new();
        };
        return table
            .iter()
            .find(|l| FRIDA_PORTS.contains(&l.port))
            .map(|l| {
                Finding::new(
                    Threat::Hooking,
                    Severity::High,
                    "hooking.frida_port",
                    format!("a server listens on frida-server's port {}", l.port),
                )
            })
            .into_iter()
            .collect();
    }
    let (table, why, ports) = live_tables(root);
    let Some(table) = table else {
        skipped.push(SkippedCheck::new(
            "hooking.frida_port",
            format!(
                "/proc/net/tcp: {} (Android 10+ denies apps /proc/net and sock_diag); only Frida's \
                 default ports were probed",
                why.map_or("unreadable", |e| e.describe())
            ),
        ));
        return probe_default_ports(&ports, skipped);
    };
    probe_listeners(table, skipped)
}

/// The default ports' last result: when, for which ports, what was found.
type PortsResult = (Instant, Vec<u16>, Vec<Finding>);
static DEFAULT_PORTS: Mutex<Option<PortsResult>> = Mutex::new(None);

/// Probes `ports` blind (no /proc/net), reusing a result younger than [`DEFAULT_PORTS_TTL`].
fn probe_default_ports(ports: &[u16], skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
    if let Some((at, p, found)) = DEFAULT_PORTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        && p == ports
        && at.elapsed() < DEFAULT_PORTS_TTL
    {
        return found.clone();
    }
    let (found, complete) = probe_each(ports, Deadline::after(RUN_DEADLINE));
    if complete {
        *DEFAULT_PORTS.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), ports.to_vec(), found.clone()));
    } else {
        skipped.push(SkippedCheck::new(
            "hooking.frida_port",
            "probe deadline reached before every port was probed; later runs continue",
        ));
    }
    found
}

/// Probes the loopback-reachable listeners: every loopback one, wildcard ones on Frida's ports.
fn probe_listeners(mut table: Vec<Listener>, skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
    table.retain(|l| l.loopback || (l.any && FRIDA_PORTS.contains(&l.port)));
    // Frida's ports first, then in port order; one probe per (port, family).
    table.sort_by_key(|l| (!FRIDA_PORTS.contains(&l.port), l.port, l.v6, l.inode));
    table.dedup_by_key(|l| (l.port, l.v6));
    let deadline = Deadline::after(RUN_DEADLINE);
    let mut known = VERDICTS.lock().map(|g| g.clone()).unwrap_or_default();
    let mut out = Vec::new();
    let mut probed = 0usize;
    let mut left_over = false;
    for l in &table {
        let key = (l.port, l.inode);
        let verdict = match known.get(&key) {
            Some(v) => *v,
            None => {
                if probed >= MAX_PROBES || deadline.passed() {
                    left_over = true;
                    continue;
                }
                probed += 1;
                let addr = if l.v6 {
                    SocketAddr::from((Ipv6Addr::LOCALHOST, l.port))
                } else {
                    SocketAddr::from((Ipv4Addr::LOCALHOST, l.port))
                };
                let Some(v) = fingerprint(addr, deadline) else {
                    // Cut short by the deadline: no verdict, probed again next run.
                    left_over = true;
                    continue;
                };
                known.insert(key, v);
                v
            }
        };
        if let Some(how) = verdict {
            out.push(finding(l.port, how));
        }
    }
    if left_over {
        skipped.push(SkippedCheck::new(
            "hooking.frida_port",
            "probe budget reached before every loopback listener was probed; later runs continue",
        ));
    }
    if let Ok(mut g) = VERDICTS.lock() {
        if known.len() > MAX_VERDICTS {
            known.clear();
        }
        *g = known;
    }
    out.sort();
    out.dedup();
    out
}

/// Probes 127.0.0.1 on each port (tests pass their own ports), within one run's deadline.
pub fn probe_ports(ports: &[u16]) -> Vec<Finding> {
    probe_each(ports, Deadline::after(RUN_DEADLINE)).0
}

/// Findings for `ports`, and whether every port got a verdict before `deadline`.
fn probe_each(ports: &[u16], deadline: Deadline) -> (Vec<Finding>, bool) {
    let mut out = Vec::new();
    for &port in ports {
        match fingerprint(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), deadline) {
            Some(Some(how)) => out.push(finding(port, how)),
            Some(None) => {}
            None => return (out, false),
        }
    }
    (out, true)
}

/// How the server at `addr` gave itself away as frida-server: `Some(None)` when it did not (or
/// nothing listens), `None` when the deadline cut the probe short.
fn fingerprint(addr: SocketAddr, deadline: Deadline) -> Option<Option<&'static str>> {
    let Some(mut first) = connect(addr, deadline)? else {
        return Some(None);
    };
    let reply = exchange(&mut first, b"\0AUTH\r\n", deadline, |b| b.contains(&b'\n'));
    drop(first);
    if reply.starts_with(b"REJECTED") {
        return Some(Some("D-Bus AUTH REJECTED"));
    }
    if deadline.passed() {
        return None;
    }
    let v = websocket(addr, deadline);
    if v.is_none() && deadline.passed() {
        return None;
    }
    Some(v)
}

/// A connection within the deadline: `None` when out of time, `Some(None)` when refused.
fn connect(addr: SocketAddr, deadline: Deadline) -> Option<Option<TcpStream>> {
    let step = deadline.step()?;
    let Ok(s) = TcpStream::connect_timeout(&addr, step) else {
        return if deadline.passed() { None } else { Some(None) };
    };
    let _ = s.set_nodelay(true);
    Some(Some(s))
}

/// Writes all of `data` within the deadline.
fn send(s: &mut TcpStream, data: &[u8], deadline: Deadline) -> bool {
    let Some(step) = deadline.step() else {
        return false;
    };
    s.set_write_timeout(Some(step)).is_ok() && s.write_all(data).is_ok()
}

/// Sends `request`, then reads until `done` says the answer is complete, the peer closes, a read
/// times out or the deadline passes. At most 4 KiB.
fn exchange(
    s: &mut TcpStream,
    request: &[u8],
    deadline: Deadline,
    done: impl Fn(&[u8]) -> bool,
) -> Vec<u8> {
    if !send(s, request, deadline) {
        return Vec::new();
    }
    read_until(s, Vec::new(), deadline, done)
}

fn read_until(
    s: &mut TcpStream,
    mut got: Vec<u8>,
    deadline: Deadline,
    done: impl Fn(&[u8]) -> bool,
) -> Vec<u8> {
    let mut buf = [0u8; 1024];
    while !done(&got) && got.len() < 4096 {
        let Some(step) = deadline.step() else {
            break;
        };
        if s.set_read_timeout(Some(step)).is_err() {
            break;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n.min(buf.len())]),
        }
    }
    got
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The WebSocket fingerprint of frida-server 15+.
fn websocket(addr: SocketAddr, deadline: Deadline) -> Option<&'static str> {
    let mut s = connect(addr, deadline).flatten()?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let reply = exchange(&mut s, request.as_bytes(), deadline, |b| {
        find(b, b"\r\n\r\n").is_some()
    });
    let head_end = find(&reply, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&reply[..head_end]).to_ascii_lowercase();
    let mut lines = head.lines();
    let status = lines.next()?;
    if lines.any(|l| l.starts_with("server:") && l.contains("frida")) {
        return Some("HTTP Server: Frida");
    }
    if !(status.starts_with("http/1.1 101") || status.starts_with("http/1.0 101")) {
        return None;
    }
    // Upgraded: speak D-Bus in a frame, as frida's clients do (no D-Bus auth over WebSocket).
    if !send(&mut s, &ws_frame(&dbus_ping()), deadline) {
        return default_port(addr.port());
    }
    let rest = reply.get(head_end + 4..).unwrap_or_default().to_vec();
    let frame = read_until(&mut s, rest, deadline, |b| ws_payload(b).is_some());
    match ws_payload(&frame) {
        Some(p) if is_dbus_reply(p) => Some("D-Bus over WebSocket"),
        _ => default_port(addr.port()),
    }
}

/// A WebSocket at `/ws` on one of Frida's default ports, when the D-Bus exchange gave nothing.
fn default_port(port: u16) -> Option<&'static str> {
    FRIDA_PORTS
        .contains(&port)
        .then_some("WebSocket at /ws on Frida's port")
}

/// A D-Bus method call of `org.freedesktop.DBus.Peer.Ping` on `/` (little-endian, serial 1): every
/// GDBus peer connection answers it.
pub fn dbus_ping() -> Vec<u8> {
    let mut m = vec![b'l', 1, 0, 1];
    m.extend_from_slice(&0u32.to_le_bytes()); // body length
    m.extend_from_slice(&1u32.to_le_bytes()); // serial
    m.extend_from_slice(&0u32.to_le_bytes()); // header fields length, set below
    for (code, sig, value) in [
        (1u8, b'o', "/"),
        (2, b's', "org.freedesktop.DBus.Peer"),
        (3, b's', "Ping"),
    ] {
        while m.len() % 8 != 0 {
            m.push(0);
        }
        m.extend_from_slice(&[code, 1, sig, 0]);
        m.extend_from_slice(&(value.len() as u32).to_le_bytes());
        m.extend_from_slice(value.as_bytes());
        m.push(0);
    }
    let fields = (m.len() - 16) as u32;
    m[12..16].copy_from_slice(&fields.to_le_bytes());
    while m.len() % 8 != 0 {
        m.push(0);
    }
    m
}

/// A masked binary client frame.
fn ws_frame(payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x5a, 0x17, 0xc3, 0x88];
    let mut f = vec![0x82];
    if payload.len() < 126 {
        f.push(0x80 | payload.len() as u8);
    } else {
        f.push(0x80 | 126);
        f.extend_from_slice(&(payload.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    }
    f.extend_from_slice(&MASK);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    f
}

/// The payload of the first complete, unmasked binary server frame in `b`.
fn ws_payload(b: &[u8]) -> Option<&[u8]> {
    let (b0, b1) = (*b.first()?, *b.get(1)?);
    if b0 & 0x0f != 2 || b1 & 0x80 != 0 {
        return None;
    }
    let (len, at): (usize, usize) = match b1 & 0x7f {
        126 => (usize::from(u16::from_be_bytes([*b.get(2)?, *b.get(3)?])), 4),
        127 => return None,
        n => (usize::from(n), 2),
    };
    b.get(at..at.checked_add(len)?)
}

/// A D-Bus method return or error message header.
fn is_dbus_reply(p: &[u8]) -> bool {
    p.len() >= 16 && matches!(p[0], b'l' | b'B') && matches!(p[1], 2 | 3) && p[3] == 1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn listening_sockets_are_parsed() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  10123        0 1111 1
   1: 00000000:69A2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1
   2: 0100007F:A2C4 0100007F:69A2 01 00000000:00000000 00:00000000 00000000     0        0 3333 1
   3: 0A00020F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1
";
        let l = listeners(v4, false);
        assert_eq!(l.len(), 3, "{l:?}");
        if cfg!(target_endian = "little") {
            assert!(l[0].loopback && !l[0].any && l[0].port == 8080 && l[0].inode == 1111);
            assert!(l[1].any && l[1].port == 27042);
            assert!(!l[2].loopback && !l[2].any);
        }
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1
   1: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6666 1
   2: 00000000000000000000000000000000:1F93 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7777 1
";
        let l = listeners(v6, true);
        assert_eq!(l.len(), 3);
        if cfg!(target_endian = "little") {
            assert!(l[0].loopback, "::1");
            assert!(l[1].loopback, "::ffff:127.0.0.1");
            assert!(l[2].any && !l[2].loopback);
        }
    }

    #[test]
    fn dbus_ping_and_frames_are_well_formed() {
        let m = dbus_ping();
        assert_eq!(m.len() % 8, 0);
        assert_eq!(&m[..4], &[b'l', 1, 0, 1]);
        assert_eq!(u32::from_le_bytes(m[12..16].try_into().unwrap()), 69);
        assert_eq!(m.len(), 88);
        let f = ws_frame(&m);
        assert_eq!((f[0], f[1]), (0x82, 0x80 | 88));
        let unmasked: Vec<u8> = f[6..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ f[2 + i % 4])
            .collect();
        assert_eq!(unmasked, m);
        let mut reply = vec![0x82, 16];
        reply.extend_from_slice(b"l\x02\x01\x01\0\0\0\0\x01\0\0\0\0\0\0\0");
        assert!(is_dbus_reply(ws_payload(&reply).unwrap()));
        assert!(ws_payload(&reply[..10]).is_none(), "incomplete");
    }
}
