"""Python `websockets` (legacy asyncio API) server used to record fixtures.

/ws    echo WebSocket; Origin must be http://app.test (or absent)
/chat  echo WebSocket that requires the subprotocol chat.v1
/policy accepts (101), then closes at once with 1008 "policy violation"
/hello plain 200 text
other  404
Usage: server_websockets.py PORT [HOST ...]
"""
import asyncio
import http
import signal
import sys

import websockets
from websockets.exceptions import NegotiationError
from websockets.legacy.server import WebSocketServerProtocol

# http://app.test:18450: the page the browser fixtures open (clients.py)
ALLOWED_ORIGINS = [None, "http://app.test", "http://app.test:18450"]
CHAT_SUBPROTOCOL = "chat.v1"


class Protocol(WebSocketServerProtocol):
    def process_subprotocol(self, headers, available_subprotocols):
        if self.path.split("?")[0] == "/chat":
            offered = []
            for value in headers.get_all("Sec-WebSocket-Protocol"):
                offered += [p.strip() for p in value.split(",") if p.strip()]
            if CHAT_SUBPROTOCOL not in offered:
                raise NegotiationError(
                    f"missing subprotocol; expected {CHAT_SUBPROTOCOL}"
                )
            return CHAT_SUBPROTOCOL
        return None


async def process_request(path, headers):
    route = path.split("?")[0]
    if route == "/hello":
        return http.HTTPStatus.OK, [("Content-Type", "text/plain")], b"hello\n"
    if route not in ("/ws", "/chat", "/policy"):
        return http.HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"Not Found\n"
    return None


async def echo(ws, path=None):
    if ws.path.split("?")[0] == "/policy":
        # a refusal in disguise: the handshake succeeds, the policy check fails
        await ws.close(1008, "policy violation")
        return
    async for message in ws:
        await ws.send(message)


async def main():
    port = int(sys.argv[1])
    hosts = sys.argv[2:] or ["127.0.0.1"]
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(
        echo,
        hosts,
        port,
        create_protocol=Protocol,
        origins=ALLOWED_ORIGINS,
        process_request=process_request,
    ):
        print(f"listening {hosts} {port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
