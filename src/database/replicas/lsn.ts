/**
 * WAL positions (pg_lsn, printed `16/B374D848`) as bigints, so they compare exactly; a position
 * is 64 bits, more than a JS number holds.
 */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(text.trim());
  if (!match) throw new Error(`not a WAL position: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Sixteen hex digits, so that comparing two of them as strings (in a Redis script) orders them. */
export function lsnKey(lsn: bigint): string {
  return lsn.toString(16).padStart(16, '0');
}

export function fromLsnKey(key: string): bigint {
  return BigInt(`0x${key}`);
}
