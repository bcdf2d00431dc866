// Node's http-proxy (the library behind http-proxy-middleware and most
// JavaScript dev servers' proxies) in front of a WebSocket server, for the
// fixture recorder. Usage: node proxy_http_proxy.js PORT TARGET MODE
//   ws          the usual set-up for WebSockets: ws: true and the server's
//               'upgrade' event handed to proxy.ws()
//   no-upgrade  only the request handler: Node hands an upgrade request with
//               no 'upgrade' listener to it as a plain request, http-proxy
//               forwards it, and the backend's 101 never comes back
// On a proxy error it answers 502 where it can and otherwise drops the
// client's connection, as http-proxy's own examples do.
'use strict';
const http = require('http');
const httpProxy = require('http-proxy');

const [port, target, mode] = process.argv.slice(2);
const proxy = httpProxy.createProxyServer({ target, ws: mode === 'ws' });
proxy.on('error', (err, req, res) => {
  console.error(`proxy error ${err.code} for ${req.url}`);
  if (res && typeof res.writeHead === 'function') {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
    res.end('proxy error\n');
  } else if (res && typeof res.destroy === 'function') {
    res.destroy();
  }
});
const server = http.createServer((req, res) => proxy.web(req, res));
if (mode === 'ws') {
  server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
}
server.listen(Number(port), '127.0.0.1', () => console.log(`listening on ${port} (${mode})`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
