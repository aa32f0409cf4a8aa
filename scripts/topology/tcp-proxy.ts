/**
 * A TCP relay that fault injection can cut: the HA topology (scripts/topology/up-ha.sh) puts one
 * between each Patroni and etcd, so "this node is partitioned from etcd" needs no root
 * networking (iptables, network namespaces) and touches nothing else on the machine.
 *
 *   node dist-tools/scripts/topology/tcp-proxy.js LISTEN_PORT TARGET_PORT
 *
 * SIGUSR1 cuts: every relayed connection is destroyed and new ones are closed at once (the
 * client sees a reset, as after a network failure that the far side noticed). SIGUSR2 heals.
 * Listens on 127.0.0.1 only.
 */
import { createConnection, createServer, type Socket } from 'node:net';

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(targetPort)) {
  process.stderr.write('usage: tcp-proxy.js LISTEN_PORT TARGET_PORT\n');
  process.exit(2);
}

let cut = false;
const open = new Set<Socket>();
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

const server = createServer((client) => {
  if (cut) {
    client.destroy();
    return;
  }
  const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
  for (const socket of [client, upstream]) {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
  }
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
});

process.on('SIGUSR1', () => {
  cut = true;
  for (const socket of open) socket.destroy();
  log(`cut: 127.0.0.1:${listenPort} -> ${targetPort} refuses and drops everything`);
});
process.on('SIGUSR2', () => {
  cut = false;
  log(`healed: 127.0.0.1:${listenPort} -> ${targetPort} relays again`);
});
process.on('SIGTERM', () => {
  server.close();
  for (const socket of open) socket.destroy();
  process.exit(0);
});

server.listen(listenPort, '127.0.0.1', () =>
  log(`relaying 127.0.0.1:${listenPort} -> 127.0.0.1:${targetPort}`),
);
