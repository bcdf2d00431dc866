"""python-socketio's ASGI server on uvicorn, one node of a Socket.IO
cluster used to record wshs-sniff fixtures: the Python Engine.IO server
(python-engineio, as under Flask-SocketIO) whose refusals of a WebSocket
upgrade (an unknown sid, EIO=3, an Origin not in cors_allowed_origins)
end the ASGI WebSocket before accepting it, which uvicorn answers with a
bare 403. Origins allowed: http://app.test and the browser page's.

Usage: python3 server_python_socketio.py PORT [HOST]
"""
import sys

import socketio
import uvicorn

sio = socketio.AsyncServer(async_mode="asgi",
                           cors_allowed_origins=["http://app.test", "http://app.test:18450"])


@sio.event
async def message(sid, data):
    await sio.send(data, to=sid)


app = socketio.ASGIApp(sio)

if __name__ == "__main__":
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    uvicorn.run(app, host=host, port=port, ws="websockets", log_level="warning")
