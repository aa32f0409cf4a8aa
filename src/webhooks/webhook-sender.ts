import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import http from 'node:http';
import https from 'node:https';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { Webhook } from 'standardwebhooks';

/** At most this much of a receiver's response is read; the rest is never downloaded. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SenderOptions {
  allowHttp: boolean;
  /** Host names (or addresses) whose resolved addresses may be loopback or private. */
  allowedHosts: string[];
  timeoutMs: number;
  /** The resolver; tests stub it. Default: the system's (dns.lookup). */
  lookup?: LookupFunction;
}

export interface SendOutcome {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

/** Why a URL may not be registered (checked again, on the resolved address, at every connect). */
export function urlProblem(raw: string, o: Pick<SenderOptions, 'allowHttp' | 'allowedHosts'>) {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'url must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(o.allowHttp && url.protocol === 'http:'))
    return o.allowHttp ? 'url must use https or http' : 'url must use https';
  if (url.username || url.password) return 'url must not carry credentials';
  if (url.hash) return 'url must not have a fragment';
  const host = hostOf(url);
  if (isIP(host) !== 0 && !o.allowedHosts.includes(host) && !publicAddress(host))
    return 'url points at a loopback, private, link-local or metadata address';
  return null;
}

const hostOf = (url: URL) => url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');

/**
 * A literal address the guard lets through: the same rule request-filtering-agent applies at
 * connect time (ipaddr.js range "unicast"), checked here without opening anything.
 */
function publicAddress(address: string): boolean {
  try {
    const parsed = ipaddr.parse(address);
    // ipaddr.js calls the deprecated IPv4-compatible form (::a.b.c.d, ::/96) "unicast", though it
    // embeds any IPv4 address, loopback and private ones included: no public endpoint uses it.
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0))
      return false;
    return parsed.range() === 'unicast';
  } catch {
    return false;
  }
}

/**
 * Sends one signed delivery (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`), following the SSRF rules of docs/api.md section 12:
 * - `https` only unless WEBHOOK_ALLOW_HTTP;
 * - the address the host name resolves to is checked by the agent's lookup hook at connect time,
 *   before any connection is made (request-filtering-agent): loopback, private, link-local,
 *   unique-local and the metadata addresses are refused unless the host is in
 *   WEBHOOK_ALLOWED_HOSTS. Checking at connect time, on the very address used, leaves no window
 *   for DNS rebinding between a check and the connection;
 * - redirects are never followed (a 3xx is a failed attempt);
 * - at most 64 KiB of the response is read, and the whole attempt is bounded by the timeout.
 */
export class WebhookSender {
  private readonly agents: Record<'strict' | 'allowed', { http: http.Agent; https: https.Agent }>;

  constructor(private readonly o: SenderOptions) {
    // Kept-alive connections are reused per endpoint; each new connection is checked again.
    const strict = { allowPrivateIPAddress: false, allowMetaIPAddress: false, keepAlive: true };
    const allowed = { allowPrivateIPAddress: true, allowMetaIPAddress: false, keepAlive: true };
    this.agents = {
      strict: {
        http: new RequestFilteringHttpAgent(strict),
        https: new RequestFilteringHttpsAgent(strict),
      },
      allowed: {
        http: new RequestFilteringHttpAgent(allowed),
        https: new RequestFilteringHttpsAgent(allowed),
      },
    };
  }

  /** Signs `body` as message `msgId` with `secret` (whsec_…) and POSTs it to `url`. */
  send(url: string, secret: string, msgId: string, body: string): Promise<SendOutcome> {
    const started = Date.now();
    const done = (statusCode: number | null, error: string | null): SendOutcome => ({
      ok: error === null && statusCode !== null && statusCode >= 200 && statusCode < 300,
      statusCode,
      durationMs: Date.now() - started,
      error,
    });
    const problem = urlProblem(url, this.o);
    if (problem) return Promise.resolve(done(null, `refused: ${problem}`));
    const target = new URL(url);
    const timestamp = new Date();
    const signature = new Webhook(secret).sign(msgId, timestamp, body);
    const kind = this.o.allowedHosts.includes(hostOf(target)) ? 'allowed' : 'strict';
    const agent = this.agents[kind][target.protocol === 'https:' ? 'https' : 'http'];
    const transport = target.protocol === 'https:' ? https : http;

    return new Promise((resolve) => {
      let settled = false;
      const finish = (statusCode: number | null, error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(done(statusCode, error));
      };
      const req = transport.request(target, {
        method: 'POST',
        agent,
        ...(this.o.lookup ? { lookup: this.o.lookup } : {}),
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'finance-api-webhooks/1',
          'webhook-id': msgId,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signature,
        },
      });
      const timer = setTimeout(() => {
        req.destroy(new Error(`timed out after ${this.o.timeoutMs} ms`));
      }, this.o.timeoutMs);
      req.on('error', (error) => finish(null, describe(error)));
      req.on('response', (res) => {
        const status = res.statusCode ?? null;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read >= MAX_RESPONSE_BYTES) {
            // Enough: the status is known, the rest of the body is not ours to download.
            res.destroy();
            finish(status, redirectError(status));
          }
        });
        res.on('end', () => finish(status, redirectError(status)));
        res.on('error', () => finish(status, redirectError(status)));
        res.on('close', () => finish(status, redirectError(status)));
      });
      req.end(body);
    });
  }

  close(): void {
    for (const pair of Object.values(this.agents)) {
      pair.http.destroy();
      pair.https.destroy();
    }
  }
}

function redirectError(status: number | null): string | null {
  return status !== null && status >= 300 && status < 400 ? 'redirect not followed' : null;
}

function describe(error: Error): string {
  const message = error.message;
  if (/is not allowed/.test(message)) return `refused: ${message}`;
  return message.slice(0, 500);
}
