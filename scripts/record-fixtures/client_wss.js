// Node `ws` client for the TLS fixtures (tls_fixtures.py): opens wss://
// connections one after the other and writes the TLS secrets of each, as
// the TLS socket's 'keylog' event hands them out, to KEYLOG (NSS format).
// With --resume, every connection after the first offers the session of the
// one before it (TLS 1.2 session resumption).
// Prints one JSON object per connection: local port, Sec-WebSocket-Key,
// status, whether the session was resumed, the version and suite negotiated,
// what came back.
// Usage: node client_wss.js KEYLOG [--resume] URL ORIGIN|- [URL ORIGIN|- ...]
'use strict';
const fs = require('fs');
const tls = require('tls');
const WebSocket = require('ws');

const args = process.argv.slice(2);
const keylog = args.shift();
const resume = args[0] === '--resume';
if (resume) args.shift();
const attempts = [];
for (let i = 0; i + 1 < args.length; i += 2) {
  attempts.push({ url: args[i], origin: args[i + 1] === '-' ? undefined : args[i + 1] });
}
const TIMEOUT_MS = 3000;

function once(url, origin, session) {
  return new Promise((resolve) => {
    const out = { url, origin: origin || null, status: null, reused: false };
    let socket = null;
    let newSession = null;
    const ws = new WebSocket(url, {
      origin,
      handshakeTimeout: TIMEOUT_MS,
      finishRequest: (req) => {
        out.key = req.getHeader('sec-websocket-key');
        req.end();
      },
      createConnection: (opts) => {
        socket = tls.connect({ ...opts, rejectUnauthorized: false, session });
        socket.on('keylog', (line) => fs.appendFileSync(keylog, line));
        socket.on('session', (s) => { newSession = s; });
        socket.on('secureConnect', () => {
          out.local_port = socket.localPort;
          out.reused = socket.isSessionReused();
          out.version = socket.getProtocol();
          out.suite = socket.getCipher().standardName;
        });
        return socket;
      },
    });
    const timer = setTimeout(() => { out.note = 'timed out'; ws.terminate(); }, TIMEOUT_MS * 2);
    const done = () => {
      clearTimeout(timer);
      out.session = newSession;
      resolve(out);
    };
    ws.on('upgrade', (res) => { out.status = res.statusCode; });
    ws.on('open', () => ws.send('hello fixture'));
    ws.on('message', (data) => {
      out.echo = data.toString();
      ws.close(1000, 'done');
    });
    ws.on('close', (code) => { out.close_code = code; done(); });
    ws.on('unexpected-response', (req, res) => {
      out.status = res.statusCode;
      out.status_line = `HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}`;
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => {
        out.body = body;
        // A refusal ends the connection cleanly (close_notify, then FIN).
        socket.end();
        done();
      });
    });
    ws.on('error', (e) => { out.error = String(e.message || e); });
  });
}

(async () => {
  let session;
  for (const { url, origin } of attempts) {
    const out = await once(url, origin, resume ? session : undefined);
    session = out.session || session;
    delete out.session;
    console.log(JSON.stringify(out));
  }
})();
