"""Flask-Sock (simple-websocket, wsproto) on Werkzeug's threaded server, used
to record wshs-sniff fixtures: a Flask application's WebSocket routes.
Flask-Sock leaves Origin and subprotocols to the route, which refuses
after the handshake (by closing) or, for a plain request, with Flask's
own pages.

/ws    echo; Origin must be http://app.test (or the browser page's, or
       absent), else 403 before the upgrade (a before_request hook)
/chat  echo; requires the subprotocol chat.v1, else 400 before the upgrade
other  Flask's 404

Usage: python3 server_flask_sock.py PORT [HOST]
"""
import sys

from flask import Flask, abort, request
from flask_sock import Sock

app = Flask(__name__)
app.config["SOCK_SERVER_OPTIONS"] = {"subprotocols": ["chat.v1"]}
sock = Sock(app)

ALLOWED_ORIGINS = {"http://app.test", "http://app.test:18450"}


@app.before_request
def check_origin():
    origin = request.headers.get("Origin")
    if request.path == "/ws" and origin is not None and origin not in ALLOWED_ORIGINS:
        abort(403, description=f"Origin {origin} not allowed")
    if request.path == "/chat":
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if "chat.v1" not in offered:
            abort(400, description="subprotocol chat.v1 required")


def echo(ws):
    while True:
        ws.send(ws.receive())


sock.route("/ws")(echo)
sock.route("/chat")(lambda ws: echo(ws))


if __name__ == "__main__":
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    app.run(host=host, port=port, threaded=True)
