"""ASGI WebSocket app served by hypercorn for the HTTP/2 (RFC 8441) fixtures.

/ws      accepted (echo one message) when Origin is http://app.test or absent;
         another Origin is refused before accepting (hypercorn answers 403)
other    refused before accepting (403)
"""

ALLOWED_ORIGINS = {None, b"http://app.test"}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello\n"})
        return
    await receive()  # websocket.connect
    origin = dict(scope["headers"]).get(b"origin")
    if scope["path"] == "/ws" and origin in ALLOWED_ORIGINS:
        await send({"type": "websocket.accept"})
        msg = await receive()
        if msg["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": msg.get("text") or ""})
        await send({"type": "websocket.close", "code": 1000})
    else:
        await send({"type": "websocket.close", "code": 1008})
