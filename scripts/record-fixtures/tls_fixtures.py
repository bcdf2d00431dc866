#!/usr/bin/env python3
"""TLS fixtures for the fixture recorder: every TLS version and AEAD cipher
suite wshs-sniff decrypts, TLS 1.2 session resumption, and a wss:// server
reached without a proxy, each recorded with a client that writes its own key
log beside the capture (fixtures/NAME.keylog, path in WSHS_KEYLOG):

- curl, with SSLKEYLOGFILE: an HTTP/1.1 request carrying the WebSocket
  upgrade headers (this curl has no ws:// support; after a 101 it waits for
  more and gives up after --max-time);
- Node `ws` (client_wss.js), from the TLS socket's 'keylog' event;
- `openssl s_client -keylogfile`, which asks for a TLS 1.3 KeyUpdate (its
  `K` command: both ends change keys) before it sends the request.

Servers (record.sh starts them): nginx TLS termination in front of the Python
websockets backend (nginx.conf, 127.0.0.1:18520-18522, and 18527 whose only
group forces a TLS 1.3 HelloRetryRequest) and Node `ws` over
TLS (server_wss.js, 127.0.0.1:18523-18526). Each port allows one version and
one suite, so what is negotiated is set by the server.

Subcommands (as in driver.py):
  list                      one line per fixture: NAME <tab> tcpdump filter
  listeners                 server_wss.js's PORT:VERSION:SUITE arguments
  ports                     the servers' ports, one per line
  run NAME OBS.json         play the scenario, write what the client saw
  label NAME OBS.json PCAP  print the ground-truth labels (JSON)
  versions                  software versions used (JSON)

Every fixture holds an accepted handshake and a refusal (a foreign Origin or
a path the server does not serve). Labels come from the set-up (which
Origin, which path) checked against what the client received, never from an
analyzer's output; the backend leg behind nginx is found in the capture by
its Sec-WebSocket-Key.
"""
import base64
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver  # noqa: E402
import subcommands  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_TIMEOUT = 30  # seconds for one client process, all its connections

# server name -> port, implementation, version and suite it allows (IANA
# name, as the label states it), backend port behind nginx
SERVERS = {
    "nginx-tls12-aes128": (18520, "nginx", "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 18401),
    "nginx-tls12-aes256": (18521, "nginx", "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 18401),
    "nginx-tls13-chacha": (18522, "nginx", "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", 18401),
    "node-wss-tls12-chacha": (18523, "node-ws", "TLSv1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", None),
    "node-wss-tls13-aes128": (18524, "node-ws", "TLSv1.3", "TLS_AES_128_GCM_SHA256", None),
    "node-wss-tls13-aes256": (18525, "node-ws", "TLSv1.3", "TLS_AES_256_GCM_SHA384", None),
    "node-wss-tls12-resumed": (18526, "node-ws", "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None),
    "nginx-tls13-hrr": (18527, "nginx", "TLSv1.3", "TLS_AES_256_GCM_SHA384", 18401),
}
# Servers whose only key exchange group is not the client's first key share:
# every handshake goes through a HelloRetryRequest (checked in the capture).
RETRY = {"nginx-tls13-hrr"}
# OpenSSL names of the TLS 1.2 suites (server_wss.js's listeners; curl says them)
OPENSSL_NAMES = {
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
}

# What the client tries, one connection each: (path, Origin or None, expected
# status, cause, header). The server (nginx's backend or server_wss.js) allows
# Origin http://app.test or none and serves /ws only.
ACCEPTED = ("/ws", driver.ORIGIN_OK, 101, "ok", None)
FOREIGN_ORIGIN = ("/ws", driver.ORIGIN_BAD, 403, "origin-rejected", "Origin")
WRONG_PATH = ("/nope", driver.ORIGIN_OK, 404, "path-not-found", None)

# fixture -> (server, client, attempts, resume the first connection's session)
FIXTURES = {
    "nginx-tls12-aes128__curl": ("nginx-tls12-aes128", "curl", [ACCEPTED, FOREIGN_ORIGIN], False),
    "nginx-tls12-aes256__node-ws": ("nginx-tls12-aes256", "node", [ACCEPTED, WRONG_PATH], False),
    "nginx-tls13-chacha__curl": ("nginx-tls13-chacha", "curl", [ACCEPTED, WRONG_PATH], False),
    "node-wss-tls12-chacha__node-ws": ("node-wss-tls12-chacha", "node", [ACCEPTED, FOREIGN_ORIGIN], False),
    "node-wss-tls13-aes128__curl": ("node-wss-tls13-aes128", "curl", [ACCEPTED, WRONG_PATH], False),
    "node-wss-tls13-aes256__node-ws": ("node-wss-tls13-aes256", "node", [ACCEPTED, FOREIGN_ORIGIN], False),
    "node-wss-tls12-resumed__node-ws": ("node-wss-tls12-resumed", "node", [ACCEPTED, FOREIGN_ORIGIN], True),
    "nginx-tls13-hrr__curl": ("nginx-tls13-hrr", "curl", [ACCEPTED, FOREIGN_ORIGIN], False),
    "node-wss-tls13-keyupdate__openssl": ("node-wss-tls13-aes128", "s_client", [ACCEPTED, WRONG_PATH], False),
}


KEYLOG_HOW = {"curl": "SSLKEYLOGFILE", "node": "the keylog event", "s_client": "-keylogfile"}


def listeners():
    out = []
    for port, impl, version, suite, _ in SERVERS.values():
        if impl == "node-ws":
            out.append(f"{port}:{version}:{OPENSSL_NAMES.get(suite, suite)}")
    return out


def filter_of(name):
    port, _, _, _, backend = SERVERS[FIXTURES[name][0]]
    return " or ".join(f"tcp port {p}" for p in (port, backend) if p)


# ---------------------------------------------------------------- clients

def run_curl(port, attempts, keylog):
    """One curl per attempt; curl appends its secrets to SSLKEYLOGFILE."""
    out = []
    env = dict(os.environ, SSLKEYLOGFILE=keylog)
    for path, origin, *_ in attempts:
        key = base64.b64encode(os.urandom(16)).decode()
        cmd = ["curl", "-sSkv", "--http1.1", "-i", "--max-time", "2",
               "-H", "Upgrade: websocket", "-H", "Connection: Upgrade",
               "-H", f"Sec-WebSocket-Key: {key}", "-H", "Sec-WebSocket-Version: 13",
               "-w", "\n@@ %{local_port} %{http_code}\n"]
        if origin:
            cmd += ["-H", f"Origin: {origin}"]
        cmd.append(f"https://127.0.0.1:{port}{path}")
        p = subprocess.run(cmd, env=env, capture_output=True, timeout=CLIENT_TIMEOUT)
        text = p.stdout.decode("utf-8", "replace")
        m = re.search(r"\n@@ (\d+) (\d+)\n?$", text)
        if not m:
            sys.exit(f"curl gave no result for {path}: {p.stderr.decode()[-500:]}")
        head, _, body = text[:m.start()].partition("\r\n\r\n")
        tls = re.search(r"SSL connection using (\S+) / (\S+)", p.stderr.decode())
        out.append({
            "local_port": int(m.group(1)), "status": int(m.group(2)) or None,
            "status_line": head.split("\r\n")[0] or None, "body": body,
            "path": path, "origin": origin, "key": key, "reused": False,
            "version": tls.group(1) if tls else None, "suite": tls.group(2) if tls else None,
            "client": f"curl (exit {p.returncode})",
        })
    return out


def run_s_client(port, attempts, keylog):
    """One `openssl s_client` per attempt: `K` (KeyUpdate, update requested),
    then the request; s_client appends its secrets to -keylogfile. Its
    local port is not printed: label() reads it from the capture."""
    out = []
    for path, origin, *_ in attempts:
        key = base64.b64encode(os.urandom(16)).decode()
        head = (f"GET {path} HTTP/1.1\nHost: 127.0.0.1:{port}\nUpgrade: websocket\n"
                f"Connection: Upgrade\nSec-WebSocket-Key: {key}\nSec-WebSocket-Version: 13\n"
                + (f"Origin: {origin}\n" if origin else "") + "\n")
        p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-crlf",
                              "-keylogfile", keylog],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(0.7)  # the handshake
            p.stdin.write(b"K\n")
            p.stdin.flush()
            time.sleep(0.3)
            p.stdin.write(head.encode())
            p.stdin.flush()
            time.sleep(0.7)  # the answer
            p.stdin.close()  # end of input: s_client closes the connection
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        text = p.stdout.read().decode("utf-8", "replace")
        said = p.stderr.read().decode("utf-8", "replace")  # where s_client reports commands
        status = re.search(r"^HTTP/1\.1 (\d{3})[^\r\n]*", text, re.M)
        tls = re.search(r"New, (TLSv1\.\d), Cipher is (\S+)", text)
        body = ""
        if status:  # s_client prints more of its own after the answer: cut by length
            head_end = text.find("\r\n\r\n", status.start())
            size = re.search(r"^Content-Length: (\d+)", text[status.start():head_end], re.M | re.I)
            body = text[head_end + 4:head_end + 4 + int(size.group(1))] if size else ""
        out.append({
            "local_port": None, "status": int(status.group(1)) if status else None,
            "status_line": status.group(0) if status else None,
            "body": body,
            "path": path, "origin": origin, "key": key, "reused": False,
            "key_update": "KEYUPDATE" in said,
            "version": tls.group(1) if tls else None, "suite": tls.group(2) if tls else None,
            "client": f"openssl s_client (exit {p.returncode})",
        })
    return out


def run_node(port, attempts, keylog, resume):
    cmd = ["node", os.path.join(HERE, "client_wss.js"), keylog] + (["--resume"] if resume else [])
    for path, origin, *_ in attempts:
        cmd += [f"wss://127.0.0.1:{port}{path}", origin or "-"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=CLIENT_TIMEOUT)
    if p.returncode != 0:
        sys.exit(f"client_wss.js failed: {p.stderr[-500:]}")
    out = []
    for line, (path, origin, *_) in zip(p.stdout.splitlines(), attempts):
        r = json.loads(line)
        r.update({"path": path, "origin": origin, "client": "node ws"})
        out.append(r)
    return out


def run(name, obs_path):
    server, client, attempts, resume = FIXTURES[name]
    port = SERVERS[server][0]
    keylog = os.environ.get("WSHS_KEYLOG") or sys.exit("WSHS_KEYLOG: where the key log goes")
    if client == "curl":
        obs = run_curl(port, attempts, keylog)
    elif client == "s_client":
        obs = run_s_client(port, attempts, keylog)
    else:
        obs = run_node(port, attempts, keylog, resume)
    subcommands.write_json(obs_path, obs)


# ---------------------------------------------------------------- labels

def versions():
    v = {"nginx": driver.versions()["nginx"], "python-websockets": driver.versions()["python-websockets"]}
    v["openssl"] = subprocess.run(["openssl", "version"], capture_output=True, text=True,
                                  timeout=10).stdout.split()[1]
    with open(os.path.join(HERE, "node_modules", "ws", "package.json")) as f:
        v["node-ws"] = json.load(f)["version"]
    v["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True,
                               timeout=10).stdout.strip().lstrip("v")
    curl = subprocess.run(["curl", "--version"], capture_output=True, text=True, timeout=10).stdout
    v["curl"] = curl.split()[1] if curl else "unknown"
    return v


def client_hellos(stream):
    """ClientHellos before the first application data record of a client's
    TLS stream: two after a HelloRetryRequest."""
    count, off = 0, 0
    while off + 5 <= len(stream) and stream[off] != 0x17:
        size = int.from_bytes(stream[off + 3:off + 5], "big")
        if stream[off] == 0x16 and stream[off + 5:off + 6] == b"\x01":
            count += 1
        off += 5 + size
    return count


def label(name, obs_path, pcap_path):
    server, client, attempts, resume = FIXTURES[name]
    port, impl, version, suite, backend = SERVERS[server]
    with open(obs_path) as f:
        obs = json.load(f)
    if len(obs) != len(attempts):
        sys.exit(f"{name}: {len(obs)} connections seen by the client, {len(attempts)} made")
    vers = versions()
    keys = os.path.basename(os.environ.get("WSHS_KEYLOG", name + ".keylog"))
    streams = driver.tcp_streams(pcap_path)
    # Clients that do not say their port: the connections, in order.
    to_server = [sport for (_, sport, _, dport) in streams if dport == port]
    for i, ex in enumerate(obs):
        if ex["local_port"] is None:
            ex["local_port"] = to_server[i]
    labels = []
    for i, (ex, (path, origin, want_status, cause, header)) in enumerate(zip(obs, attempts)):
        if ex["status"] != want_status:
            sys.exit(f"{name}: {path} with Origin {origin} got {ex['status']}, set up for {want_status}")
        if ex.get("version") not in (None, version) or ex.get("suite") not in (None, suite, OPENSSL_NAMES.get(suite)):
            sys.exit(f"{name}: negotiated {ex.get('version')} {ex.get('suite')}, set up for {version} {suite}")
        resumed = bool(ex.get("reused"))
        if resume and resumed != (i > 0):
            sys.exit(f"{name}: connection {i} resumed={resumed}, set up to resume after the first")
        how = (f"{ex['client']} over {version} {suite}"
               + (", session resumed from the first connection (abbreviated handshake)" if resumed else "")
               + f"; key log written by the client ({KEYLOG_HOW[client]})")
        if server in RETRY:
            hellos = client_hellos(streams.get(("127.0.0.1", ex["local_port"], "127.0.0.1", port), b""))
            if hellos != 2:
                sys.exit(f"{name}: {hellos} ClientHello(s) on {ex['local_port']}, set up for a HelloRetryRequest")
            how += "; the server's only group is secp384r1: HelloRetryRequest, second ClientHello"
        if backend:
            how += f"; nginx TLS termination, good proxy to python-websockets at 127.0.0.1:{backend}"
        lab = {
            "client_ip": "127.0.0.1", "client_port": ex["local_port"],
            "server_ip": "127.0.0.1", "server_port": port,
            "leg": "client", "request_method": "GET", "request_path": path,
            "status": ex["status"], "cause": cause, "header": header,
            "server_impl": f"{impl}-{vers[impl]}",
            "response_body_excerpt": "" if ex["status"] == 101 else driver.excerpt(ex.get("body")),
            "scenario": {"ok": "ok", "origin-rejected": "origin-rejected",
                         "path-not-found": "not-found-path"}[cause],
            "request_defect": cause if cause != "ok" else "ok", "request_index": 0,
            "response_status_line": ex.get("status_line"),
            "tls": True, "keys": keys, "tls_version": version, "cipher_suite": suite,
            "session_resumed": resumed, "note": how,
        }
        if server in RETRY:
            lab["hello_retry_request"] = True
        if client == "s_client":
            if not ex["key_update"]:
                sys.exit(f"{name}: s_client did not update its keys")
            lab["key_update"] = True
            lab["note"] += "; KeyUpdate (update_requested) both ways before the request"
        if ex["status"] == 101 and "status_line" not in ex:
            lab["response_status_line"] = "HTTP/1.1 101 Switching Protocols"
        labels.append(lab)
        if backend:
            t = {"backend": "python-websockets"}
            leg = driver.backend_leg(streams, t, {"headers": [("Sec-WebSocket-Key", ex["key"])],
                                                  "path": path}, lab, driver.versions())
            for k in ("tls", "tls_version", "cipher_suite", "session_resumed", "hello_retry_request"):
                leg.pop(k, None)
            labels.append(leg)
    return labels


def list_fixtures():
    for name in FIXTURES:
        print(f"{name}\t{filter_of(name)}")


def list_ports():
    for port, *_ in SERVERS.values():
        print(port)


def main(argv):
    return subcommands.main(argv, __doc__, {
        "list": list_fixtures,
        "listeners": lambda: print(" ".join(listeners())),
        "ports": list_ports,
        "run": run,
        **subcommands.recorder_commands(label, versions),
    })

if __name__ == "__main__":
    sys.exit(main(sys.argv))
