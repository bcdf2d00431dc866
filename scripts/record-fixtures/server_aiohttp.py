"""aiohttp WebSocket server used to record fixtures: messages echoed, on /ws.

Usage: server_aiohttp.py PORT [HOST]
"""
import sys

from aiohttp import web


async def echo(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == web.WSMsgType.TEXT:
            await ws.send_str(msg.data)
    return ws


if __name__ == "__main__":
    app = web.Application()
    app.router.add_get("/ws", echo)
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    print(f"listening {host} {sys.argv[1]}", flush=True)
    web.run_app(app, host=host, port=int(sys.argv[1]), print=None)
