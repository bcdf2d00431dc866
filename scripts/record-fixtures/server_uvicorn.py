"""Uvicorn with a bare ASGI app, used to record fixtures: what a FastAPI or
Starlette WebSocket endpoint reduces to on the wire.

/ws    echo WebSocket; Origin must be http://app.test (or absent); a refused
       origin is a websocket.close before accepting, which uvicorn answers 403
/chat  echo WebSocket that requires the subprotocol chat.v1 (refused the same way)
other  WebSocket: refused the same way (Starlette's router for an unknown route);
       plain HTTP: 404
Uvicorn itself answers requests its WebSocket implementation refuses
(IMPL wsproto, websockets or websockets-sansio) and ones it cannot read.
Usage: server_uvicorn.py PORT HOST IMPL
"""
import sys

import uvicorn

ALLOWED_ORIGINS = {None, "http://app.test", "http://app.test:18450"}
CHAT_SUBPROTOCOL = "chat.v1"


def header(scope, name):
    for k, v in scope.get("headers", []):
        if k.decode("latin-1").lower() == name:
            return v.decode("latin-1")
    return None


async def app(scope, receive, send):
    if scope["type"] == "http":
        status, body = (426, b"Upgrade Required\n") if scope["path"] in ("/ws", "/chat") else (404, b"Not Found\n")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return
    msg = await receive()
    if msg["type"] != "websocket.connect":
        return
    path = scope["path"]
    subprotocol = None
    if path == "/ws":
        allowed = header(scope, "origin") in ALLOWED_ORIGINS
    elif path == "/chat":
        allowed = CHAT_SUBPROTOCOL in scope.get("subprotocols", [])
        subprotocol = CHAT_SUBPROTOCOL
    else:
        allowed = False
    if not allowed:
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept", "subprotocol": subprotocol})
    while True:
        msg = await receive()
        if msg["type"] == "websocket.disconnect":
            return
        if msg.get("text") is not None:
            await send({"type": "websocket.send", "text": msg["text"]})
        elif msg.get("bytes") is not None:
            await send({"type": "websocket.send", "bytes": msg["bytes"]})


if __name__ == "__main__":
    port, host, impl = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    uvicorn.run(app, host=host, port=port, ws=impl, log_level="warning", lifespan="off")
