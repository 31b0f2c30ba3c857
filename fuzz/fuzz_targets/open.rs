//! The server's opening side on arbitrary template/payload strings, with a real key: never panics, and
//! nothing but the genuine pair opens.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use smartid_core::seal::{KeyPair, OpenPolicy, ServerKeyring, open_capture};

fn ring() -> &'static ServerKeyring {
    static RING: OnceLock<ServerKeyring> = OnceLock::new();
    RING.get_or_init(|| {
        let k = KeyPair::derive("test-vector-key", b"smartid test vector ikm 0001").expect("valid key id");
        ServerKeyring::new().with(k)
    })
}

fuzz_target!(|data: &[u8]| {
    // Split at the first NUL: left is the template text, right the payload text.
    let (t, p) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let (t, p) = (String::from_utf8_lossy(t), String::from_utf8_lossy(p));
    let _ = open_capture(ring(), &t, &p, 1_790_000_000, &OpenPolicy::default());
});
