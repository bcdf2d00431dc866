"""Tornado WebSocket server used to record fixtures: every origin allowed,
messages echoed, on /ws.

Usage: server_tornado.py PORT [HOST]
"""
import asyncio
import sys

import tornado.web
import tornado.websocket


class Echo(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True

    def on_message(self, message):
        self.write_message(message)


async def main(port, host):
    tornado.web.Application([(r"/ws", Echo)]).listen(port, address=host)
    print(f"listening {host} {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"))
