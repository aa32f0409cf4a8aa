// Runs the built WebhookSender against host names answered by a stubbed resolver, with a tripwire
// under the guard: whatever the guard decides, no connection is ever made to anything but
// loopback. Prints one JSON line: each host's outcome, what the tripwire caught, and how many
// sockets actually connected. Spawned by test/e2e/webhooks-ssrf.e2e-spec.ts (after a build).
import http from 'node:http';
import net, { type AddressInfo, type LookupFunction } from 'node:net';
import { urlProblem, WebhookSender } from '../src/webhooks/webhook-sender';

const ANSWERS: Record<string, [string, number]> = {
  'private.test': ['10.0.0.5', 4],
  'private172.test': ['172.16.3.4', 4],
  'private192.test': ['192.168.1.1', 4],
  'linklocal.test': ['169.254.10.10', 4],
  'metadata.test': ['169.254.169.254', 4],
  'metadata6.test': ['fd00:ec2::254', 6],
  'loopback.test': ['127.0.0.1', 4],
  'loopback6.test': ['::1', 6],
  'mapped.test': ['::ffff:10.0.0.1', 6],
  'cgnat.test': ['100.64.0.1', 4],
  'unspecified.test': ['0.0.0.0', 4],
  'allowed.test': ['127.0.0.1', 4], // on the allow-list: the positive control
};

type Callback = (err: Error | null, address?: unknown, family?: number) => void;
const lookups: string[] = [];
const stubLookup = ((host: string, options: { all?: boolean }, cb: Callback) => {
  lookups.push(host);
  const answer = ANSWERS[host];
  if (!answer)
    return cb(Object.assign(new Error(`stub: no answer for ${host}`), { code: 'ENOTFOUND' }));
  const [address, family] = answer;
  if (options?.all) cb(null, [{ address, family }]);
  else cb(null, address, family);
}) as unknown as LookupFunction;

const isLoopback = (a: string) => a === '::1' || /^127\./.test(a);
const caught: string[] = [];
let connected = 0;
// eslint-disable-next-line @typescript-eslint/unbound-method -- re-bound with apply below
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  const opts = (args[0] && typeof args[0] === 'object' ? args[0] : {}) as {
    host?: string;
    lookup?: (host: string, o: object, cb: Callback) => void;
  };
  if (opts.host && net.isIP(opts.host) && !isLoopback(opts.host)) {
    caught.push(opts.host);
    throw new Error(`tripwire: direct connect to ${opts.host}`);
  }
  const guarded = opts.lookup;
  if (typeof guarded === 'function') {
    opts.lookup = (host, o, cb) =>
      guarded(host, o, (err, address, family) => {
        if (err) return cb(err, address, family);
        const list = Array.isArray(address)
          ? (address as { address: string }[]).map((a) => a.address)
          : [address as string];
        const outside = list.filter((a) => !isLoopback(a));
        if (outside.length > 0) {
          caught.push(...outside);
          return cb(new Error(`tripwire: the guard let ${outside.join(',')} through`));
        }
        cb(null, address, family);
      });
  }
  this.once('connect', () => connected++);
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
};

async function main(): Promise<void> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const sender = new WebhookSender({
    allowHttp: true,
    allowedHosts: ['allowed.test'],
    timeoutMs: 2000,
    lookup: stubLookup,
  });
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const results: Record<string, object> = {};
  for (const host of Object.keys(ANSWERS)) {
    const before = connected;
    const outcome = await sender.send(`http://${host}:${port}/hook`, secret, 'msg_1', '{}');
    results[host] = { ...outcome, connected: connected - before };
  }
  sender.close();
  server.close();
  const strict = { allowHttp: false, allowedHosts: [] };
  const urls = {
    'http://hooks.example.com/x': urlProblem('http://hooks.example.com/x', strict),
    'https://hooks.example.com/x': urlProblem('https://hooks.example.com/x', strict),
  };
  process.stdout.write(`${JSON.stringify({ results, caught, lookups, urls })}\n`);
}

main().catch((error: unknown) => {
  process.stdout.write(`${JSON.stringify({ crash: String(error) })}\n`);
  process.exit(1);
});
