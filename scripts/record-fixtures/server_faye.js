// Node faye-websocket server used to record fixtures (the application code
// decides Origin and subprotocol, as faye leaves those to it).
// /ws    echo WebSocket; Origin must be http://app.test (or absent), else 403
// /chat  echo WebSocket that requires the subprotocol chat.v1, else 400
// /hello plain 200 text; any other path 404 (upgrade or not)
// Usage: node server_faye.js PORT [HOST ...]
'use strict';
const http = require('http');
const WebSocket = require('faye-websocket');

const ALLOWED_ORIGINS = new Set(['http://app.test']);
const CHAT_SUBPROTOCOL = 'chat.v1';
const port = Number(process.argv[2]);
const hosts = process.argv.length > 3 ? process.argv.slice(3) : ['127.0.0.1'];

function refuse(socket, status, reason, text) {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

function route(url) {
  return (url || '').split('?')[0];
}

function onUpgrade(req, socket, body) {
  const path = route(req.url);
  if (path !== '/ws' && path !== '/chat') return refuse(socket, 404, 'Not Found', 'Not Found\n');
  const origin = req.headers.origin;
  if (origin !== undefined && !ALLOWED_ORIGINS.has(origin)) {
    return refuse(socket, 403, 'Forbidden', `Origin ${origin} not allowed\n`);
  }
  let protocols;
  if (path === '/chat') {
    const offered = (req.headers['sec-websocket-protocol'] || '').split(',').map((s) => s.trim());
    if (!offered.includes(CHAT_SUBPROTOCOL)) {
      return refuse(socket, 400, 'Bad Request', `Missing subprotocol; expected ${CHAT_SUBPROTOCOL}\n`);
    }
    protocols = [CHAT_SUBPROTOCOL];
  }
  if (!WebSocket.isWebSocket(req)) {
    return refuse(socket, 400, 'Bad Request', 'Not a WebSocket handshake\n');
  }
  const ws = new WebSocket(req, socket, body, protocols);
  ws.on('message', (event) => ws.send(event.data));
}

function onRequest(req, res) {
  if (route(req.url) === '/hello') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('hello\n');
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not Found\n');
  }
}

for (const host of hosts) {
  const server = http.createServer(onRequest);
  server.on('upgrade', onUpgrade);
  server.listen(port, host, () => console.log(`faye-websocket listening ${host}:${port}`));
}
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
