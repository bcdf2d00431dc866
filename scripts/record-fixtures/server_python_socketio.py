"""python-socketio, used to record wshs-sniff fixtures: the Python
Engine.IO server (python-engineio, as under Flask-SocketIO). As an ASGI app
on uvicorn (one node of a Socket.IO cluster) its refusals of a WebSocket
upgrade (an unknown sid, EIO=3, an Origin not in cors_allowed_origins) end
the ASGI WebSocket before accepting it, which uvicorn answers with a bare
403; on aiohttp they are its own 400s with a JSON string for text. Origins
allowed: http://app.test and the browser page's.

Usage: python3 server_python_socketio.py PORT [HOST [asgi|aiohttp]]
"""
import sys

import socketio

MODE = sys.argv[3] if len(sys.argv) > 3 else "asgi"
sio = socketio.AsyncServer(async_mode=MODE,
                           cors_allowed_origins=["http://app.test", "http://app.test:18450"])


@sio.event
async def message(sid, data):
    await sio.send(data, to=sid)


if __name__ == "__main__":
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    if MODE == "aiohttp":
        from aiohttp import web
        app = web.Application()
        sio.attach(app)
        web.run_app(app, host=host, port=port, print=None)
    else:
        import uvicorn
        uvicorn.run(socketio.ASGIApp(sio), host=host, port=port, ws="websockets", log_level="warning")
