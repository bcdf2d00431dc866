"""Autobahn|Python (asyncio) server used to record fixtures.

/ws    echo WebSocket; Origin must be http://app.test (or absent): autobahn's
       own allowedOrigins check answers 400 with a reason naming the origin
/chat  echo WebSocket that requires the subprotocol chat.v1 (ConnectionDeny 400)
other  404 (ConnectionDeny)
Usage: server_autobahn.py PORT [HOST]
"""
import asyncio
import signal
import sys

from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny

CHAT_SUBPROTOCOL = "chat.v1"


class Echo(WebSocketServerProtocol):
    def onConnect(self, request):
        if request.path == "/ws":
            return None
        if request.path == "/chat":
            if CHAT_SUBPROTOCOL not in request.protocols:
                raise ConnectionDeny(400, f"missing subprotocol; expected {CHAT_SUBPROTOCOL}")
            return CHAT_SUBPROTOCOL
        raise ConnectionDeny(404, "Not Found")

    def onMessage(self, payload, isBinary):
        self.sendMessage(payload, isBinary)


async def main():
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    factory = WebSocketServerFactory(f"ws://{host}:{port}")
    factory.protocol = Echo
    # Origin allow-list (autobahn matches scheme://host:port, so any port of
    # http://app.test), with a request without Origin let through
    factory.setProtocolOptions(allowedOrigins=["http://app.test:*"], allowNullOrigin=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    server = await loop.create_server(factory, host, port)
    print(f"autobahn listening {host}:{port}", flush=True)
    await stop
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
