//! Binary and text parsers: sealed envelope, template, model manifest, Y4M, key texts, capture tokens,
//! the kernel's `sock_diag` answer.
//! What parses must round-trip: a template and a token serialise back to the bytes they came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartid_core::manifest::Manifest;
use smartid_core::seal::envelope::Envelope;
use smartid_core::seal::{CaptureToken, KeyPair, PublicKey, Template};

fuzz_target!(|data: &[u8]| {
    let _ = Envelope::parse(data);
    if let Ok(t) = Template::from_bytes(data) {
        assert_eq!(&**t.to_bytes(), data, "template round trip");
    }
    let _ = smartid_core::y4m::parse_y4m(data);
    let mut listeners = Vec::new();
    let _ = smartid_core::rasp::hooking::parse_sock_diag_datagram(data, 1, &mut listeners);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Manifest::parse(text);
        let _ = PublicKey::parse(text);
        let _ = KeyPair::parse(text);
        if let Ok(t) = CaptureToken::parse(text) {
            let again = CaptureToken::parse(&t.to_text().expect("a parsed token serialises"));
            assert_eq!(again, Ok(t), "token round trip");
        }
    }
});
