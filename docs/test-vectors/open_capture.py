#!/usr/bin/env python3
"""Opens docs/test-vectors/capture-v3.json and runs docs/test-vectors/failures-v3.json with pyhpke,
following only docs/payload-format.md.

An independent second implementation of the opening side: if this and the Rust opener agree, the
document is precise enough to write a server from. Needs: pip install pyhpke
"""
import base64
import binascii
import hashlib
import json
import math
import os
import struct
import sys

from pyhpke import AEADId, CipherSuite, KDFId, KEMId

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
SKEW, MAX_LIFETIME = 300, 3600


class Refused(Exception):
    """A capture that must not open; args[0] names the Rust OpenError."""


def b64url(s: str) -> bytes:
    if "=" in s or len(s) % 4 == 1:
        raise Refused("Encoding")
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        raise Refused("Encoding")


def parse_envelope(raw: bytes):
    if len(raw) < 7 or raw[:4] != b"SIDE":
        raise Refused("Malformed")
    if raw[4] != 2:
        raise Refused("UnknownVersion")
    kind, n = raw[5], raw[6]
    sid_end = 7 + n + 16
    if n == 0 or len(raw) < sid_end + 1:
        raise Refused("Malformed")
    nonce_len = raw[sid_end]
    if nonce_len not in (0, 16):
        raise Refused("Malformed")
    head = sid_end + 1 + nonce_len
    if len(raw) < head + 32 + 16:
        raise Refused("Malformed")
    return {"kind": kind, "key_id": raw[7:7 + n].decode("ascii"), "session_id": raw[7 + n:sid_end],
            "nonce": raw[sid_end + 1:head], "enc": raw[head:head + 32],
            "clear": raw[:head + 32], "ciphertext": raw[head + 32:]}


METRICS = {1: "cosine", 2: "euclidean"}


def parse_template(pt: bytes):
    if pt[:4] != b"SIDT":
        raise Refused("TemplateFormat")
    if pt[4] != 2:
        raise Refused("UnknownVersion")
    if pt[5] not in METRICS:
        raise Refused("TemplateFormat")
    m = pt[6]
    model = pt[7:7 + m].decode()
    (d,) = struct.unpack_from("<H", pt, 7 + m)
    if not (1 <= m and 1 <= d <= 4096 and len(pt) == 9 + m + 4 * d):
        raise Refused("TemplateFormat")
    values = struct.unpack_from("<%df" % d, pt, 9 + m)
    if not all(math.isfinite(v) for v in values):
        raise Refused("TemplateFormat")
    return model, METRICS[pt[5]], values


def check_payload(payload, t, model):
    """The typed checks of docs/payload-format.md that a JSON parser does not do by itself."""
    if not isinstance(payload, dict) or payload.get("v") != 3:
        raise Refused("PayloadFormat" if not isinstance(payload.get("v"), int) else "UnknownVersion")
    nonce = t["nonce"].hex() if t["nonce"] else None
    if (payload["session_id"] != t["session_id"].hex() or payload["template_model"] != model
            or payload.get("capture_token") != nonce):
        raise Refused("PayloadMismatch")
    liveness = payload["liveness"]
    asked, passed = liveness["challenges_asked"], liveness["challenges"]
    consistent = (liveness["test_mode"] == payload["test_mode"]
                  and len(asked) == len(passed) <= 8
                  and all(c["kind"] == k for c, k in zip(passed, asked))
                  and payload["platform"] in ("android", "ios", "linux", "macos", "windows"))
    for f in payload["evidence"]:
        jpeg = base64.b64decode(f["jpeg"], validate=True)
        consistent &= jpeg[:2] == b"\xff\xd8" and len(jpeg) <= 192 * 1024
        consistent &= (f["challenge"] is None) == (f["role"] == "template")
    if not consistent:
        raise Refused("PayloadFormat")


def open_capture(sk_text, sealed_template, sealed_payload, now):
    """Returns (template plaintext, payload, token nonce, attestation request hash) or raises Refused."""
    prefix, kid, sk_b64 = sk_text.split(":")
    assert prefix == "SIDSK1"
    t_raw, p_raw = b64url(sealed_template), b64url(sealed_payload)
    t, p = parse_envelope(t_raw), parse_envelope(p_raw)
    if t["kind"] != 1 or p["kind"] != 2:
        raise Refused("WrongKind")
    if any(t[k] != p[k] for k in ("key_id", "session_id", "nonce", "enc")):
        raise Refused("BindingMismatch")
    if t["key_id"] != kid:
        raise Refused("UnknownKeyId")
    info = b"smartid-capture-v2" + t["key_id"].encode() + t["session_id"] + t["nonce"]
    try:
        ctx = SUITE.create_recipient_context(t["enc"], SUITE.kem.deserialize_private_key(b64url(sk_b64)),
                                             info=info)
        t_plain = ctx.open(t["ciphertext"], aad=t["clear"])  # sequence 0
        p_plain = ctx.open(p["ciphertext"], aad=p["clear"] + hashlib.sha256(t_raw).digest())  # sequence 1
    except Exception:
        raise Refused("DecryptionFailed")
    model, _, _ = parse_template(t_plain)
    try:
        payload = json.loads(p_plain)
    except ValueError:
        raise Refused("PayloadFormat")
    check_payload(payload, t, model)
    issued, expires = payload["issued_at"], payload["expires_at"]
    if expires <= issued or expires - issued > MAX_LIFETIME:
        raise Refused("TimestampInvalid")
    if issued > now + SKEW:
        raise Refused("IssuedInFuture")
    if now > expires:
        raise Refused("Expired")
    request_hash = hashlib.sha256(t["nonce"] + t["session_id"] + hashlib.sha256(t_raw).digest()).digest()
    return t_plain, payload, t["nonce"], request_hash


def main() -> int:
    checks = []
    v = json.load(open(os.path.join(HERE, "capture-v3.json")))
    t_plain, payload, nonce, request_hash = open_capture(
        v["server_private_key"], v["sealed_template"], v["sealed_payload"], v["now"])
    checks.append(("template plaintext", t_plain.hex() == v["template_plain_hex"]))
    checks.append(("payload plaintext", payload == v["payload_plain"]))
    model, metric, _ = parse_template(t_plain)
    checks.append(("payload version 3", payload["v"] == 3))
    checks.append(("identity in the template's metric", payload["liveness"]["identity"]["metric"] == metric))
    checks.append(("passive outcome stated",
                   payload["liveness"]["passive"]["status"] in ("not_requested", "no_model", "measured")))
    checks.append(("token nonce in envelope and payload", nonce.hex() == v["token_nonce_hex"]
                   == payload["capture_token"]))
    checks.append(("attestation request hash", request_hash.hex() == v["attestation_request_hash"]))
    frame = payload["evidence"][0]
    checks.append(("evidence frame is a JPEG", base64.b64decode(frame["jpeg"])[:2] == b"\xff\xd8"))

    failures = json.load(open(os.path.join(HERE, "failures-v3.json")))
    used = set()
    for case in failures["cases"]:
        try:
            _, _, nonce, _ = open_capture(failures["server_private_key"], case["sealed_template"],
                                          case["sealed_payload"], case["now"])
            got = "token_reused" if nonce in used else "ok"
            used.add(nonce)
        except Refused as e:
            got = e.args[0]
        checks.append((f"failure vector {case['name']}: {case['expect']}", got == case["expect"]))

    failed = [name for name, ok in checks if not ok]
    for name, ok in checks:
        print(("ok   " if ok else "FAIL ") + name)
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
