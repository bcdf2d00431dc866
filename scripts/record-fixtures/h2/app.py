"""ASGI WebSocket app served by hypercorn for the HTTP/2 (RFC 8441) fixtures.

/ws      accepted (echo one message) when Origin is allowed or absent;
         another Origin is refused before accepting (hypercorn answers 403)
/strict  the same with http://app.test the only Origin allowed
other    404 (ASGI websocket.http.response), or a 403 where the server lacks it
/page    an HTML page whose script opens /ws and /deny (for a browser)
/page3   the same for /ws, /deny and /strict (behind a proxy on 127.0.0.1:18529)
With WSHS_H2_LOG set, one JSON line per WebSocket attempt is appended to that
file: path, client port and the status the app chose (the labels' truth);
kind "http" for a plain request that carried a Sec-WebSocket-Key (a proxy
dropped its upgrade; answered 200 like any plain request).
"""
import json
import os

ALLOWED_ORIGINS = {
    None, b"http://app.test", b"https://127.0.0.1:18422", b"https://127.0.0.1:18529",
}
STRICT_ORIGINS = {b"http://app.test"}
ENDPOINTS = {"/ws": ALLOWED_ORIGINS, "/strict": STRICT_ORIGINS}

# /page: a browser opens /ws (allowed) and /ws?deny (refused: no such path
# rule, so the app closes before accepting), then shows the results in the title.
def page(paths):
    return PAGE.replace(b'open("/ws"); open("/deny");', b" ".join(
        b'open("%s");' % p for p in paths)).replace(b"== 2", b"== %d" % len(paths))


PAGE = b"""<!doctype html><title>wait</title><script>
let done = [];
function open(path) {
  const ws = new WebSocket("wss://" + location.host + path);
  ws.onopen = () => { ws.send("hi"); };
  ws.onmessage = () => { done.push(path + ":open"); ws.close(); finish(); };
  ws.onerror = () => { done.push(path + ":error"); finish(); };
}
function finish() { if (done.length == 2) document.title = "done " + done.join(" "); }
open("/ws"); open("/deny");
</script>"""


def note(scope, status, kind="websocket"):
    path = os.environ.get("WSHS_H2_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"path": scope["path"], "client_port": scope["client"][1],
                                "status": status, "kind": kind}) + "\n")


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
        # A key on a plain request: a proxy dropped the upgrade on the way.
        if any(n == b"sec-websocket-key" for n, _ in scope["headers"]):
            note(scope, 200, kind="http")
        pages = {"/page": PAGE, "/page3": page([b"/ws", b"/deny", b"/strict"])}
        body = pages.get(scope["path"], b"hello\n")
        ctype = b"text/html" if scope["path"] in pages else b"text/plain"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", ctype)]})
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # websocket.connect
    origin = dict(scope["headers"]).get(b"origin")
    custom = "websocket.http.response" in scope.get("extensions", {})
    allowed = ENDPOINTS.get(scope["path"])
    if allowed is None and custom:
        note(scope, 404)
        await send({"type": "websocket.http.response.start", "status": 404,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "websocket.http.response.body", "body": b"no such endpoint\n"})
        return
    accept = allowed is not None and origin in allowed
    note(scope, 200 if accept else 403)
    if accept:
        await send({"type": "websocket.accept"})
        msg = await receive()
        if msg["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": msg.get("text") or ""})
        await send({"type": "websocket.close", "code": 1000})
    else:
        await send({"type": "websocket.close", "code": 1008})
