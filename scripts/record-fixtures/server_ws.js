// Node `ws` server used to record fixtures.
// /ws    echo WebSocket; Origin must be http://app.test (or the browser fixtures'
//        page, http://app.test:18450, or absent), else 403
// /chat  echo WebSocket that requires the subprotocol chat.v1, else 400
// /policy accepts (101), then closes at once with 1008 "policy violation"
// /reset  accepts (101), then resets the TCP connection (RST) 50 ms later
// /same-origin echo WebSocket that accepts only an Origin whose host is the
//        request's Host (the same-origin check of gorilla and coder/websocket),
//        else 403 "Origin <o> does not match Host <h>"
// /hello plain 200 text; any other path 404 (upgrade or not)
// Usage: node server_ws.js PORT [HOST ...]
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

// http://app.test:18450: the page the browser fixtures open (clients.py)
const ALLOWED_ORIGINS = new Set(['http://app.test', 'http://app.test:18450']);
const CHAT_SUBPROTOCOL = 'chat.v1';
const port = Number(process.argv[2]);
const hosts = process.argv.length > 3 ? process.argv.slice(3) : ['127.0.0.1'];

function originAllowed(info) {
  return info.origin === undefined || ALLOWED_ORIGINS.has(info.origin);
}

function echo(ws) {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

const wsServer = new WebSocketServer({
  noServer: true,
  verifyClient: (info, cb) => (originAllowed(info) ? cb(true) : cb(false, 403)),
});
wsServer.on('connection', echo);

const chatServer = new WebSocketServer({
  noServer: true,
  verifyClient: (info, cb) => {
    if (!originAllowed(info)) return cb(false, 403);
    const offered = (info.req.headers['sec-websocket-protocol'] || '')
      .split(',').map((s) => s.trim());
    if (!offered.includes(CHAT_SUBPROTOCOL)) {
      return cb(false, 400, `Missing subprotocol; expected ${CHAT_SUBPROTOCOL}`);
    }
    return cb(true);
  },
  handleProtocols: (protocols) => (protocols.has(CHAT_SUBPROTOCOL) ? CHAT_SUBPROTOCOL : false),
});
chatServer.on('connection', echo);

// Refusals in disguise: the handshake succeeds, the connection does not live.
const policyServer = new WebSocketServer({
  noServer: true,
  verifyClient: (info, cb) => (originAllowed(info) ? cb(true) : cb(false, 403)),
});
policyServer.on('connection', (ws) => ws.close(1008, 'policy violation'));

const resetServer = new WebSocketServer({
  noServer: true,
  verifyClient: (info, cb) => (originAllowed(info) ? cb(true) : cb(false, 403)),
});

// Same-origin check: the Origin's host[:port] must be the Host header.
const sameOriginServer = new WebSocketServer({
  noServer: true,
  verifyClient: (info, cb) => {
    const host = info.req.headers.host || '';
    let originHost = null;
    try { originHost = new URL(info.origin).host; } catch (e) { originHost = null; }
    if (originHost === host) return cb(true);
    return cb(false, 403, `Origin ${info.origin} does not match Host ${host}`);
  },
});
sameOriginServer.on('connection', echo);

function route(url) {
  return (url || '').split('?')[0];
}

function onRequest(req, res) {
  const path = route(req.url);
  if (path === '/hello') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('hello\n');
  } else if (['/ws', '/chat', '/policy', '/reset', '/same-origin'].includes(path)) {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('Upgrade Required');
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not Found\n');
  }
}

function onUpgrade(req, socket, head) {
  const path = route(req.url);
  const targets = {
    '/ws': wsServer, '/chat': chatServer, '/policy': policyServer, '/reset': resetServer,
    '/same-origin': sameOriginServer,
  };
  const target = targets[path] || null;
  if (!target) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n' +
      'Content-Length: 10\r\nConnection: close\r\n\r\nNot Found\n');
    return;
  }
  target.handleUpgrade(req, socket, head, (ws) => {
    if (target === resetServer) {
      setTimeout(() => socket.resetAndDestroy(), 50);
      return;
    }
    target.emit('connection', ws, req);
  });
}

const servers = hosts.map((host) => {
  const server = http.createServer(onRequest);
  server.on('upgrade', onUpgrade);
  server.listen(port, host, () => console.log(`listening ${host} ${port}`));
  return server;
});

function shutdown() {
  for (const s of servers) s.close();
  for (const c of wsServer.clients) c.terminate();
  for (const c of chatServer.clients) c.terminate();
  for (const c of policyServer.clients) c.terminate();
  for (const c of resetServer.clients) c.terminate();
  for (const c of sameOriginServer.clients) c.terminate();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
