/**
 * `npm run bench:webhooks -- --events 2000 --concurrency 20`: webhook delivery throughput and
 * latency. Creates a throwaway database on BENCH_PG_URL (default the local server), starts the
 * built app with a webhook to a local receiver on 127.0.0.1, creates N transactions at the given
 * concurrency and reports events delivered per second and the latency from commit (the event's
 * `occurredAt`, taken inside the writing statement) to the receiver's arrival, p50/p99/max.
 * Every delivery's signature is verified with the reference library. Loopback traffic only.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { Webhook } from 'standardwebhooks';
import { freePort } from '../src/database/embedded-database';
import { startApp } from './app-process';

const root = resolve(__dirname, '..', '..');
const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password-1' };

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '20' },
      'webhook-concurrency': { type: 'string', default: '8' },
    },
  });
  const total = Number(values.events);
  const concurrency = Number(values.concurrency);
  const server = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `finance_bench_webhooks_${Date.now()}`;
  const admin = new Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(server);
  url.pathname = `/${dbName}`;

  // The receiver: verifies each signature, records arrival time and commit time.
  let secret = '';
  const latencies: number[] = [];
  const seen = new Set<string>();
  let bad = 0;
  let duplicates = 0;
  let lastArrival = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const arrived = Date.now();
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        const body = new Webhook(secret).verify(raw, {
          'webhook-id': String(req.headers['webhook-id']),
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        }) as { id: string; occurredAt: string };
        if (seen.has(body.id)) duplicates++;
        else {
          seen.add(body.id);
          latencies.push(arrived - new Date(body.occurredAt).getTime());
          lastArrival = arrived;
        }
      } catch {
        bad++;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const port = await freePort();
  const app = await startApp({
    root,
    port,
    databaseUrl: url.toString(),
    logFile: join(tmpdir(), `finance-bench-webhooks-${port}.log`),
    env: {
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_CONCURRENCY: values['webhook-concurrency'],
    },
  });
  try {
    const base = app.baseUrl;
    const login = (await (
      await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ADMIN),
      })
    ).json()) as { accessToken: string };
    const auth = {
      authorization: `Bearer ${login.accessToken}`,
      'content-type': 'application/json',
    };
    const hook = (await (
      await fetch(`${base}/api/v1/webhooks`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ url: receiverUrl, events: ['transaction.created'] }),
      })
    ).json()) as { secret: string };
    secret = hook.secret;

    const started = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < total) {
        next++;
        const res = await fetch(`${base}/api/v1/transactions`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({
            type: 'expense',
            amount: '12.34',
            category: 'Bench',
            date: '2026-01-01',
          }),
        });
        if (res.status !== 201) throw new Error(`create answered ${res.status}`);
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const createdIn = Date.now() - started;
    const deadline = Date.now() + 120_000;
    while (seen.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const seconds = (lastArrival - started) / 1000;
    const sorted = [...latencies].sort((a, b) => a - b);
    const report = {
      events: total,
      delivered: seen.size,
      duplicates,
      badSignatures: bad,
      createConcurrency: concurrency,
      webhookConcurrency: Number(values['webhook-concurrency']),
      createsPerSecond: Math.round(total / (createdIn / 1000)),
      deliveredPerSecond: Math.round(seen.size / seconds),
      latencyMs: { p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted.at(-1) },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await app.stop();
    receiver.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
