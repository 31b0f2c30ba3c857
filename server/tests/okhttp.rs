//! A real OkHttp client (3.13.1, Debian's libokhttp-java, the client many Android and JVM backends
//! use) against the server: an "already enrolled" answer arrives once, as HTTP 409 with `Code: 408`,
//! while control servers show OkHttp silently resending a request answered with HTTP 408 and throwing
//! on HTTP 407 (docs/decisions/0004-server-response-codes.md).
//!
//! Needs `java` and the jars in /usr/share/java (scripts/test.sh installs them and sets
//! `SMARTID_REQUIRE_OKHTTP=1`, so CI never skips it; elsewhere the test says what is missing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn okhttp_gets_the_already_enrolled_code_once() {
    let jars = ["/usr/share/java/okhttp.jar", "/usr/share/java/okio.jar"];
    let have_java = Command::new("java").arg("-version").output().is_ok();
    if !have_java || jars.iter().any(|j| !Path::new(j).exists()) {
        let required = std::env::var("SMARTID_REQUIRE_OKHTTP").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "java or libokhttp-java missing (apt-get install default-jre-headless libokhttp-java)"
        );
        println!("skipped: needs java and libokhttp-java (scripts/test.sh installs them)");
        return;
    }
    let setup = Setup::new(&[policy()]);
    let server = setup.start();
    let c = server.client(0);
    let pk = setup.public();
    assert_eq!(
        c.enroll("alice", &capture(&pk, &synthetic(1.0)), None)
            .code(),
        200
    );
    let second = capture(&pk, &synthetic(1.1));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/okhttp/OkHttpCodes.java");
    let out = Command::new("java")
        .arg("-cp")
        .arg(jars.join(":"))
        .arg(source)
        .args([
            &c.url,
            &c.api_key,
            "alice",
            &second.template,
            &second.payload,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("ok ")).count(),
        5,
        "{text}"
    );
    // The refused enrollment did not use the capture up: it still enrolls with OverWrite.
    assert_eq!(c.enroll("alice", &second, Some("true")).code(), 200);
}
