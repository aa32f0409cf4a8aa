import { isIP } from 'node:net';
import { z } from 'zod';

/** How the text of an environment variable becomes a setting's value (config/app-config.ts). */

/** Accepts `900`, `900s`, `15m`, `12h`, `7d`; returns seconds. */
export const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
      if (!match) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration like 900, 15m, 12h or 7d' });
        return z.NEVER;
      }
      const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[
        match[2] as '' | 's' | 'm' | 'h' | 'd'
      ];
      return Number(match[1]) * unit;
    })
    .pipe(z.number().int().positive());

export const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const postgresUrl = () => z.url({ protocol: /^postgres(ql)?$/ });

/** `10.0.0.1` or `10.0.0.0/8` (IPv4 or IPv6). */
function isAddressOrSubnet(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return (
    bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))
  );
}

/**
 * Fastify's `trustProxy` (proxy-addr, as Express's `trust proxy`): `true`/`false`, a hop count, or
 * a list of addresses, subnets and the names loopback/linklocal/uniquelocal. Passed through as a
 * string, `true` would be taken for an address and `1` would mean the address 0.0.0.1, not one hop.
 */
export const trustProxy = optionalString.transform((value, ctx) => {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^\d{1,3}$/.test(value)) return Number(value);
  const named = new Set(['loopback', 'linklocal', 'uniquelocal']);
  const bad = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => !named.has(item) && !isAddressOrSubnet(item));
  if (bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected true, false, a hop count, or addresses, subnets, loopback, linklocal or uniquelocal; not ${bad.join(', ')}`,
    });
    return z.NEVER;
  }
  return value;
});

/** A browser's Origin header is exactly `scheme://host[:port]`; anything else would never match. */
export const isOrigin = (value: string): boolean => {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
};

/**
 * A comma-separated list: entries trimmed (then `normalize`d), empty ones dropped; unset is [].
 * `refuse` names what is wrong with the entries, or returns undefined when they are all fine.
 */
export const list = (
  refuse: (entries: string[]) => string | undefined,
  normalize = (entry: string) => entry,
) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return [];
    const entries = v
      .split(',')
      .map((entry) => normalize(entry.trim()))
      .filter(Boolean);
    const message = refuse(entries);
    if (message === undefined) return entries;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });
