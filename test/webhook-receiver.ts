import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { waitFor } from './waits';

export interface Received {
  path: string;
  id: string;
  at: number;
  body: {
    id: string;
    type: string;
    occurredAt: string;
    actorId: string | null;
    data: Record<string, unknown>;
  };
  /** Verified with the reference library against the secret the test registered for the path. */
  verified: boolean;
}

type Reply = (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>;

/**
 * A local receiver on 127.0.0.1: verifies every delivery's Standard Webhooks signature with the
 * `standardwebhooks` reference library, records it, and answers as the test's script for that path
 * says (default 204). Also tracks how many deliveries of one webhook-id are in flight at once.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  readonly secrets = new Map<string, string>();
  private readonly replies = new Map<string, Reply>();
  private readonly counts = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  /** Per path: the most deliveries of one webhook-id that were in flight at the same time. */
  readonly maxInFlight = new Map<string, number>();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  on(path: string, reply: Reply): void {
    this.replies.set(path, reply);
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Until `predicate` holds of what has come in (polled every 50 ms); throws after `ms`. */
  waitFor(predicate: () => boolean, ms = 20_000): Promise<void> {
    return waitFor('the receiver to get what was expected', predicate, { ms, every: 50 });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '/';
    const id = String(req.headers['webhook-id'] ?? '');
    let verified = false;
    const secret = this.secrets.get(path);
    if (secret) {
      try {
        new Webhook(secret).verify(raw, {
          'webhook-id': id,
          'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
          'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
        });
        verified = true;
      } catch {
        verified = false;
      }
    }
    const n = (this.counts.get(path) ?? 0) + 1;
    this.counts.set(path, n);
    this.received.push({
      path,
      id,
      at: Date.now(),
      body: JSON.parse(raw) as Received['body'],
      verified,
    });
    const key = `${path} ${id}`;
    const flying = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, flying);
    this.maxInFlight.set(path, Math.max(this.maxInFlight.get(path) ?? 0, flying));
    res.on('close', () => this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1));
    const reply = this.replies.get(path);
    if (reply) await reply(req, res, n);
    else res.writeHead(204).end();
  }
}
