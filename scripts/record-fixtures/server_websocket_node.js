// WebSocket-Node (the npm package `websocket`) server used to record
// fixtures. The library checks Host, Sec-WebSocket-Key and
// Sec-WebSocket-Version itself and refuses with a status line, Connection:
// close and an X-WebSocket-Reject-Reason header (no body); the application
// refuses through request.reject() the same way.
// /ws    echo; Origin must be http://app.test (or the browser page's, or absent), else 403
// /chat  echo; requires the subprotocol chat.v1, else 400
// other  404 from the application
// Requests Node's HTTP server does not hand over as upgrades get its 'request' handler: 426.
// Usage: node server_websocket_node.js PORT [HOST ...]
'use strict';
const http = require('http');
const WebSocketServer = require('websocket').server;

const ALLOWED_ORIGINS = new Set(['http://app.test', 'http://app.test:18450']);
const CHAT_SUBPROTOCOL = 'chat.v1';
const port = Number(process.argv[2]);
const hosts = process.argv.length > 3 ? process.argv.slice(3) : ['127.0.0.1'];

function onRequest(request) {
  const path = request.resourceURL.pathname;
  if (path !== '/ws' && path !== '/chat') {
    return request.reject(404, 'No WebSocket endpoint at ' + path);
  }
  if (path === '/ws') {
    if (request.origin !== undefined && !ALLOWED_ORIGINS.has(request.origin)) {
      return request.reject(403, 'Origin ' + request.origin + ' is not allowed');
    }
    return echo(request.accept(null, request.origin));
  }
  if (request.requestedProtocols.indexOf(CHAT_SUBPROTOCOL) === -1) {
    return request.reject(400, 'Subprotocol ' + CHAT_SUBPROTOCOL + ' is required');
  }
  return echo(request.accept(CHAT_SUBPROTOCOL, request.origin));
}

function echo(connection) {
  connection.on('message', (m) => {
    if (m.type === 'utf8') connection.sendUTF(m.utf8Data);
    else connection.sendBytes(m.binaryData);
  });
}

for (const host of hosts) {
  const server = http.createServer((req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
    res.end('This service requires use of the WebSocket protocol\n');
  });
  const wss = new WebSocketServer({ httpServer: server, autoAcceptConnections: false });
  wss.on('request', onRequest);
  server.listen(port, host, () => console.log(`websocket-node listening ${host}:${port}`));
}
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
