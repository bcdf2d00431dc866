// Node `ws` over TLS (wss:// served directly, no proxy), one listener per
// TLS version and cipher suite, for the TLS fixtures (tls_fixtures.py).
// /ws    echo WebSocket; Origin must be http://app.test (or the browser fixtures'
//        page, http://app.test:18450, or absent), else 403
// other  404 (upgrade or not)
// Each listener allows exactly one version and one suite, so the client's
// offer cannot change what is negotiated.
// Usage: node server_wss.js CERT KEY PORT:VERSION:SUITE [...]
//   VERSION TLSv1.2 or TLSv1.3; SUITE an OpenSSL (1.2) or IANA (1.3) name
'use strict';
const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');

// http://app.test:18450: the page the browser fixtures open (clients.py)
const ALLOWED_ORIGINS = new Set(['http://app.test', 'http://app.test:18450']);
const [cert, key] = [fs.readFileSync(process.argv[2]), fs.readFileSync(process.argv[3])];
const listeners = process.argv.slice(4).map((spec) => {
  const [port, version, suite] = spec.split(':');
  return { port: Number(port), version, suite };
});

const wsServer = new WebSocketServer({
  noServer: true,
  verifyClient: (info, cb) => (
    info.origin === undefined || ALLOWED_ORIGINS.has(info.origin) ? cb(true) : cb(false, 403)),
});
wsServer.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

function onUpgrade(req, socket, head) {
  if ((req.url || '').split('?')[0] !== '/ws') {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n' +
      'Content-Length: 10\r\nConnection: close\r\n\r\nNot Found\n');
    return;
  }
  wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit('connection', ws, req));
}

const servers = listeners.map(({ port, version, suite }) => {
  const server = https.createServer({
    cert,
    key,
    minVersion: version,
    maxVersion: version,
    // Node takes TLS 1.3 suite names in `ciphers` too; 1.2 suites need an
    // ECDHE key exchange, which the OpenSSL names say.
    ciphers: suite,
  }, (req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not Found\n');
  });
  server.on('upgrade', onUpgrade);
  server.listen(port, '127.0.0.1', () => console.log(`listening 127.0.0.1 ${port} ${version} ${suite}`));
  return server;
});

function shutdown() {
  for (const s of servers) s.close();
  for (const c of wsServer.clients) c.terminate();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
