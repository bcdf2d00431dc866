// Node ws server with permessage-deflate switched on and the client's window
// pinned (clientMaxWindowBits: 10), a common memory-saving setting. An offer
// without the client_max_window_bits parameter cannot be accepted: ws refuses
// the whole handshake with 400 instead of declining the extension.
// /ws echo WebSocket; any other path 404.
// Usage: node server_ws_deflate.js PORT [HOST]
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const host = process.argv[3] || '127.0.0.1';
const server = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not Found\n');
});
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: { clientMaxWindowBits: 10 },
});
wss.on('connection', (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })));
server.on('upgrade', (req, socket, head) => {
  if ((req.url || '').split('?')[0] !== '/ws') {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
server.listen(port, host, () => console.log(`ws+deflate listening ${host}:${port}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
