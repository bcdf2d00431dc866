#!/usr/bin/env python3
"""Record accepted WebSocket sessions that end abnormally (wshs-sniff --sessions).

Real components on 127.0.0.1 only: a Python websockets server whose paths end
sessions in set ways, nginx in front of it with a 2 s proxy_read_timeout, and
the Python websockets client. Each scenario is captured with tcpdump on lo
into fixtures/sessions__NAME.pcap; fixtures/sessions__NAME.labels.json holds
one label per attempt (the driver's label format) with a `session_end` object
naming how the session ended, from what this script made happen:

- nginx-idle-timeout: three clients through nginx exchange one message and
  go quiet; nginx closes both legs of each when its read timeout expires.
- close-1011: the server closes with 1011 after the first message.
- reset: the server resets the connection (SO_LINGER 0) after the first message.
- dropped: the server drops the connection (FIN, no close frame) at once.
- normal: the client closes with 1000 (no session_end expected).

Usage (as root): scripts/record-fixtures/sessions.py [NAME ...]
Every process it starts is stopped by its PID on exit.
"""
import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import driver

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "fixtures")
SERVER_PORT = 18490
NGINX_PORT = 18491
IDLE_TIMEOUT = 2

SCENARIOS = {
    "nginx-idle-timeout": ("/idle", True, 3),
    "close-1011": ("/err", False, 1),
    "reset": ("/reset", False, 1),
    "dropped": ("/drop", False, 1),
    "normal": ("/idle", False, 1),
}

NGINX_CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp};
    proxy_temp_path {tmp};
    fastcgi_temp_path {tmp};
    uwsgi_temp_path {tmp};
    scgi_temp_path {tmp};
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{backend};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout {timeout}s;
        }}
    }}
}}
"""


def server_main():
    """The WebSocket server (run as a child process)."""
    import websockets

    async def handler(ws, path=None):
        path = path or getattr(ws, "path", None) or ws.request.path
        msg = await ws.recv()
        await ws.send(msg)
        if path in ("/drop", "/err", "/reset"):
            # Mid-session, well after the handshake: not a refusal in disguise.
            await asyncio.sleep(1.0)
        if path == "/drop":
            # A FIN with no close frame, as when a worker is killed.
            ws.transport.close()
        elif path == "/err":
            await ws.close(code=1011, reason="internal error")
        elif path == "/reset":
            sock = ws.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ws.transport.abort()
        else:
            # Quiet until the client (or a proxy) ends it.
            try:
                await ws.wait_closed()
            except Exception:
                pass

    async def main():
        async with websockets.serve(handler, "127.0.0.1", SERVER_PORT, ping_interval=None):
            await asyncio.Future()

    asyncio.run(main())


async def client(port, path, normal_close, linger):
    """One session: send a message, read the echo, then close or stay quiet.
    Returns the client's local port."""
    import websockets
    ws = await websockets.connect(f"ws://127.0.0.1:{port}{path}", ping_interval=None,
                                  close_timeout=2)
    local = ws.transport.get_extra_info("sockname")[1]
    await ws.send("hello")
    try:
        await asyncio.wait_for(ws.recv(), 3)
    except Exception:
        pass
    if normal_close:
        await ws.close(code=1000)
    else:
        try:
            await asyncio.wait_for(ws.wait_closed(), linger)
        except asyncio.TimeoutError:
            await ws.close()
    return local


async def run_clients(port, path, count, normal_close):
    tasks = []
    for i in range(count):
        tasks.append(asyncio.create_task(client(port, path, normal_close, IDLE_TIMEOUT + 3)))
        await asyncio.sleep(0.3)
    return [await t for t in tasks]


def backend_ports(pcap):
    """Client ports of nginx's connections to the server, in SYN order."""
    ports = []
    for src, sport, dst, dport, seq, flags, payload in driver.read_pcap(pcap):
        if dport == SERVER_PORT and flags & 0x12 == 0x02 and sport not in ports:
            ports.append(sport)
    return ports


def label(client_port, server_port, leg, session_end, scenario, impl):
    return {
        "client_ip": "127.0.0.1", "client_port": client_port,
        "server_ip": "127.0.0.1", "server_port": server_port,
        "leg": leg, "request_method": "GET", "request_path": SCENARIOS[scenario][0],
        "status": 101, "cause": "ok", "header": None,
        "server_impl": impl, "scenario": f"sessions-{scenario}",
        "request_defect": "ok", "request_index": 0,
        "session_end": session_end,
    }


def record(name, tmp):
    path, via_nginx, count = SCENARIOS[name]
    pcap = os.path.join(OUT, f"sessions__{name}.pcap")
    dump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-s", "0", "-U", "-w", pcap,
         f"tcp port {SERVER_PORT} or tcp port {NGINX_PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(1.0)
        port = NGINX_PORT if via_nginx else SERVER_PORT
        locals_ = asyncio.run(asyncio.wait_for(
            run_clients(port, path, count, name == "normal"), 30))
        time.sleep(1.0)
    finally:
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)
    vers = driver.versions()
    impl = f"python-websockets-{vers.get('python-websockets', '?')}"
    labels = []
    if name == "nginx-idle-timeout":
        idle = {"cause": "idle-timeout", "end": "fin", "close_code": None}
        for p in locals_:
            labels.append(label(p, NGINX_PORT, "client",
                                dict(idle, ended_by="server"), name, "nginx"))
        for p in backend_ports(pcap):
            labels.append(label(p, SERVER_PORT, "backend",
                                dict(idle, ended_by="client"), name, impl))
    else:
        end = {
            "close-1011": {"cause": "abnormal-close-code", "end": "close-frame",
                           "close_code": 1011, "ended_by": "server"},
            "reset": {"cause": "session-reset", "end": "reset", "close_code": None,
                      "ended_by": "server"},
            "dropped": {"cause": "no-close-frame", "end": "fin", "close_code": None,
                        "ended_by": "server"},
            "normal": None,
        }[name]
        labels = [label(p, SERVER_PORT, "client", end, name, impl) for p in locals_]
    with open(os.path.join(OUT, f"sessions__{name}.labels.json"), "w") as f:
        json.dump(labels, f, indent=1)
        f.write("\n")
    print(f"sessions.py: {name}: {len(labels)} attempts", file=sys.stderr)


def main(argv):
    if len(argv) > 1 and argv[1] == "--server":
        server_main()
        return
    if os.geteuid() != 0:
        sys.exit("sessions.py: run as root (tcpdump needs it)")
    names = argv[1:] or list(SCENARIOS)
    for n in names:
        if n not in SCENARIOS:
            sys.exit(f"sessions.py: unknown scenario {n}; known: {', '.join(SCENARIOS)}")
    tmp = tempfile.mkdtemp(prefix="wshs-sessions-")
    server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--server"],
                              start_new_session=True)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(tmp=tmp, port=NGINX_PORT, backend=SERVER_PORT,
                                  timeout=IDLE_TIMEOUT))
    nginx = subprocess.Popen(["nginx", "-c", conf, "-g", "daemon off;"],
                             start_new_session=True)
    try:
        driver.wait_port("127.0.0.1", SERVER_PORT)
        driver.wait_port("127.0.0.1", NGINX_PORT)
        for n in names:
            record(n, tmp)
    finally:
        for p in (nginx, server):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main(sys.argv)
