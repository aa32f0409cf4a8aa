/**
 * Money stays the API's decimal string: the page groups its digits for reading and never does
 * arithmetic on it. Charts plot Number() of it, an approximation for drawing only; every figure
 * shown as text is the API's own.
 */
export function groupDigits(amount: string): string {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(amount);
  if (!match) return amount;
  const [, sign, whole, fraction = ''] = match;
  return `${sign}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${fraction}`;
}

export function money(amount: string, currency: string): string {
  return `${groupDigits(amount)} ${currency}`;
}

export function count(n: number): string {
  return groupDigits(String(n));
}

/** For drawing only. */
export function plotValue(amount: string): number {
  return Number(amount);
}

export function seconds(retryAfter: number): string {
  if (retryAfter < 90) return `${retryAfter} second${retryAfter === 1 ? '' : 's'}`;
  const minutes = Math.ceil(retryAfter / 60);
  return `${minutes} minutes`;
}
