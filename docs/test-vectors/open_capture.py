#!/usr/bin/env python3
"""Opens docs/test-vectors/capture-v2.json with pyhpke, following only docs/payload-format.md.

An independent second implementation of the opening side: if this and the Rust opener agree, the
document is precise enough to write a server from. Needs: pip install pyhpke
"""
import base64
import hashlib
import json
import math
import os
import struct
import sys

from pyhpke import AEADId, CipherSuite, KDFId, KEMId

HERE = os.path.dirname(os.path.abspath(__file__))


def b64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def parse_envelope(raw: bytes):
    assert raw[:4] == b"SIDE", "magic"
    assert raw[4] == 1, "envelope version"
    kind, n = raw[5], raw[6]
    key_id = raw[7:7 + n].decode("ascii")
    session_id = raw[7 + n:23 + n]
    enc = raw[23 + n:55 + n]
    return {"kind": kind, "key_id": key_id, "session_id": session_id, "enc": enc,
            "clear": raw[:55 + n], "ciphertext": raw[55 + n:]}


METRICS = {1: "cosine", 2: "euclidean"}


def parse_template(pt: bytes):
    assert pt[:4] == b"SIDT" and pt[4] == 2, "template version 2"
    assert pt[5] in METRICS, "known metric"
    metric = METRICS[pt[5]]
    m = pt[6]
    assert 1 <= m <= 255, "model id length"
    model = pt[7:7 + m].decode()
    (d,) = struct.unpack_from("<H", pt, 7 + m)
    assert 1 <= d <= 4096, "dimension"
    assert len(pt) == 9 + m + 4 * d, "nothing may follow the values"
    values = struct.unpack_from("<%df" % d, pt, 9 + m)
    assert all(math.isfinite(v) for v in values), "finite values"
    return model, metric, values


def main() -> int:
    v = json.load(open(os.path.join(HERE, "capture-v2.json")))
    prefix, kid, sk_b64 = v["server_private_key"].split(":")
    assert prefix == "SIDSK1"
    suite = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
    skr = suite.kem.deserialize_private_key(b64url(sk_b64))

    t_raw, p_raw = b64url(v["sealed_template"]), b64url(v["sealed_payload"])
    t, p = parse_envelope(t_raw), parse_envelope(p_raw)
    checks = []
    checks.append(("kinds", t["kind"] == 1 and p["kind"] == 2))
    checks.append(("binding", (t["key_id"], t["session_id"], t["enc"]) == (p["key_id"], p["session_id"], p["enc"])))
    checks.append(("key id", t["key_id"] == kid))

    info = b"smartid-capture-v1" + t["key_id"].encode() + t["session_id"]
    ctx = suite.create_recipient_context(t["enc"], skr, info=info)
    t_plain = ctx.open(t["ciphertext"], aad=t["clear"])  # sequence 0
    p_plain = ctx.open(p["ciphertext"], aad=p["clear"] + hashlib.sha256(t_raw).digest())  # sequence 1
    checks.append(("template plaintext", t_plain.hex() == v["template_plain_hex"]))
    payload = json.loads(p_plain)
    checks.append(("payload plaintext", payload == v["payload_plain"]))
    model, metric, values = parse_template(t_plain)
    checks.append(("model ids agree", model == payload["template_model"]))
    checks.append(("payload version 2", payload["v"] == 2))
    checks.append(("identity in the template's metric", payload["liveness"]["identity"]["metric"] == metric))
    checks.append(("passive outcome stated",
                   payload["liveness"]["passive"]["status"] in ("not_requested", "no_model", "measured")))
    checks.append(("session id", payload["session_id"] == t["session_id"].hex()))
    checks.append(("clock window", payload["issued_at"] - 300 <= v["now"] <= payload["expires_at"]))

    # A flipped bit in the payload must not open.
    bad = bytearray(p_raw)
    bad[-1] ^= 1
    ctx2 = suite.create_recipient_context(t["enc"], skr, info=info)
    ctx2.open(t["ciphertext"], aad=t["clear"])
    try:
        ctx2.open(bytes(bad[len(p["clear"]):]), aad=p["clear"] + hashlib.sha256(t_raw).digest())
        checks.append(("tampered payload refused", False))
    except Exception:
        checks.append(("tampered payload refused", True))

    failed = [name for name, ok in checks if not ok]
    for name, ok in checks:
        print(("ok   " if ok else "FAIL ") + name)
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
