#!/usr/bin/env python3
"""Record real TLS conversations as two byte streams plus the key log that
Python's ssl module (OpenSSL) wrote for them, one set per version and cipher
suite, for the TLS unit tests (tests/data/tls/).

The client and server are Python's ssl objects over memory BIOs, so the bytes
are exactly what each end put on the wire. Each conversation sends an HTTP/1.1
WebSocket upgrade request (with a cookie, to check redaction) and a 101 answer.

    python3 scripts/record-fixtures/tls_streams.py tests/data/tls
"""
import os
import ssl
import subprocess
import sys
import tempfile

REQUEST = (b"GET /chat HTTP/1.1\r\nHost: tls.test\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\nCookie: session=s3cr3t-cookie\r\n\r\n")
RESPONSE = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")

# name, TLS version, TLS 1.2 cipher list or TLS 1.3 suite
CASES = [
    ("tls13-aes128", ssl.TLSVersion.TLSv1_3, "TLS_AES_128_GCM_SHA256"),
    ("tls13-aes256", ssl.TLSVersion.TLSv1_3, "TLS_AES_256_GCM_SHA384"),
    ("tls13-chacha", ssl.TLSVersion.TLSv1_3, "TLS_CHACHA20_POLY1305_SHA256"),
    ("tls12-aes128", ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES128-GCM-SHA256"),
    ("tls12-aes256", ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384"),
    ("tls12-chacha", ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-CHACHA20-POLY1305"),
]


def make_cert(tmp):
    key, crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=tls.test"],
                   check=True, capture_output=True)
    return crt, key


def pump(src_bio, dst_bio, log):
    data = src_bio.read()
    if data:
        log.extend(data)
        dst_bio.write(data)
    return bool(data)


def record(name, version, suite, crt, key, outdir, tmp):
    """Run one case in a child whose OpenSSL reads a configuration naming the
    TLS 1.3 suite (Python cannot pick TLS 1.3 suites itself)."""
    conf = os.path.join(tmp, name + ".cnf")
    with open(conf, "w") as f:
        f.write("openssl_conf = c\n[c]\nssl_conf = s\n[s]\nsystem_default = d\n"
                "[d]\nCiphersuites = %s\n" % suite)
    env = dict(os.environ, OPENSSL_CONF=conf)
    subprocess.run([sys.executable, __file__, "--one", name, outdir, crt, key],
                   env=env, check=True, timeout=60)


def one(name, outdir, crt, key):
    for n, version, suite in CASES:
        if n == name:
            keylog = os.path.join(outdir, name + ".keylog")
            if os.path.exists(keylog):
                os.remove(keylog)
            _record(name, version, suite, crt, key, outdir, keylog)


def _record(name, version, suite, crt, key, outdir, keylog):
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(crt, key)
    sctx.minimum_version = sctx.maximum_version = version
    sctx.set_alpn_protocols(["http/1.1"])
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.minimum_version = cctx.maximum_version = version
    cctx.set_alpn_protocols(["h2", "http/1.1"])
    cctx.keylog_filename = keylog
    if version == ssl.TLSVersion.TLSv1_2:
        sctx.set_ciphers(suite)
        cctx.set_ciphers(suite)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = cctx.wrap_bio(c_in, c_out, server_hostname="tls.test")
    server = sctx.wrap_bio(s_in, s_out, server_side=True)
    c2s, s2c = bytearray(), bytearray()

    def step(fn):
        try:
            fn()
            return True
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False

    done_c = done_s = False
    for _ in range(20):
        done_c = done_c or step(client.do_handshake)
        pump(c_out, s_in, c2s)
        done_s = done_s or step(server.do_handshake)
        pump(s_out, c_in, s2c)
        if done_c and done_s:
            break
    assert done_c and done_s, name
    negotiated = client.cipher()[0]
    def send(sender, receiver, data, wire_out, wire_in, sent_log, back_log):
        """`sender` writes `data`; bytes flow both ways until `receiver` has it."""
        sender.write(data)
        pump(wire_out, wire_in, sent_log)
        got = bytearray()
        for _ in range(10):
            step(lambda: got.extend(receiver.read(65536)))
            pump(back_out[receiver], back_in[receiver], back_log)
            if bytes(got) == data:
                return
        raise AssertionError(name)

    back_out = {server: s_out, client: c_out}
    back_in = {server: c_in, client: s_in}
    send(client, server, REQUEST, c_out, s_in, c2s, s2c)
    send(server, client, RESPONSE, s_out, c_in, s2c, c2s)
    with open(os.path.join(outdir, name + ".c2s"), "wb") as f:
        f.write(c2s)
    with open(os.path.join(outdir, name + ".s2c"), "wb") as f:
        f.write(s2c)
    assert suite in (negotiated, negotiated.replace("_", "-")), (name, negotiated)
    print("%s: %s, %d + %d bytes" % (name, negotiated, len(c2s), len(s2c)))


def main():
    if sys.argv[1:2] == ["--one"]:
        return one(*sys.argv[2:6])
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/data/tls"
    os.makedirs(outdir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        crt, key = make_cert(tmp)
        for name, version, suite in CASES:
            record(name, version, suite, crt, key, outdir, tmp)


if __name__ == "__main__":
    main()
