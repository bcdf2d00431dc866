"""Python `websockets` 15 (its asyncio server, the default API since 14) used
to record fixtures; record.sh runs it from a virtual environment of its own,
since the other fixtures keep websockets 12's legacy server.

/ws    echo WebSocket; Origin must be http://app.test (or absent)
/chat  echo WebSocket that requires the subprotocol chat.v1
other  404
Usage: server_websockets15.py PORT [HOST]
"""
import asyncio
import http
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import NegotiationError

ALLOWED_ORIGINS = [None, "http://app.test", "http://app.test:18450"]
CHAT_SUBPROTOCOL = "chat.v1"


async def echo(ws):
    async for message in ws:
        await ws.send(message)


def process_request(connection, request):
    if request.path.split("?")[0] not in ("/ws", "/chat"):
        return connection.respond(http.HTTPStatus.NOT_FOUND, "Not Found\n")
    return None


def select_subprotocol(connection, offered):
    if connection.request.path.split("?")[0] != "/chat":
        return None
    if CHAT_SUBPROTOCOL not in offered:
        raise NegotiationError(f"missing subprotocol; expected {CHAT_SUBPROTOCOL}")
    return CHAT_SUBPROTOCOL


async def main():
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    async with serve(echo, host, port, origins=ALLOWED_ORIGINS, process_request=process_request,
                     select_subprotocol=select_subprotocol):
        print(f"websockets 15 listening {host}:{port}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main())
