#!/usr/bin/env node
// The lab's workload server, run inside a workload's namespace: `serve.js NAME tcp:80 udp:80 …`.
// A TCP connection gets NAME and a newline, then is closed; every UDP datagram is answered with
// NAME. One process per workload, Node's own modules only.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const [name, ...specs] = process.argv.slice(2);
if (!name || specs.length === 0) {
  process.stderr.write('usage: serve.js NAME tcp:PORT|udp:PORT ...\n');
  process.exit(2);
}
for (const spec of specs) {
  const [proto, p] = spec.split(':');
  const port = Number(p);
  if (proto === 'tcp') {
    createServer((s) => {
      s.on('error', () => s.destroy());
      s.end(`${name}\n`);
    }).listen(port, '0.0.0.0');
  } else if (proto === 'udp') {
    const u = createSocket('udp4');
    u.on('message', (_m, rinfo) => u.send(`${name}\n`, rinfo.port, rinfo.address));
    u.bind(port, '0.0.0.0');
  } else {
    process.stderr.write(`serve.js: ${spec}: use tcp:PORT or udp:PORT\n`);
    process.exit(2);
  }
}
