//! Binary and text parsers: sealed envelope, template, model manifest, Y4M, key texts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartid_core::manifest::Manifest;
use smartid_core::seal::envelope::Envelope;
use smartid_core::seal::{KeyPair, PublicKey, Template};

fuzz_target!(|data: &[u8]| {
    let _ = Envelope::parse(data);
    let _ = Template::from_bytes(data);
    let _ = smartid_core::y4m::parse_y4m(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Manifest::parse(text);
        let _ = PublicKey::parse(text);
        let _ = KeyPair::parse(text);
    }
});
