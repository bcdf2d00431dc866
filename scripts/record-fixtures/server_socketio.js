// Node Socket.IO server used to record fixtures: one node of a cluster.
// Two of these run behind nginx (round-robin, and hash on the client address)
// to show what a balancer without stickiness does to Engine.IO sessions.
// Engine.IO protocol 4 only (allowEIO3 left at its default, false).
// Usage: node server_socketio.js PORT [HOST]
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2]);
const host = process.argv[3] || '127.0.0.1';

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not Found\n');
});
const io = new Server(server, { serveClient: false });
io.on('connection', (socket) => {
  socket.on('echo', (msg, ack) => {
    if (typeof ack === 'function') ack(msg);
  });
});
server.listen(port, host, () => console.log(`socket.io listening ${host}:${port}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
