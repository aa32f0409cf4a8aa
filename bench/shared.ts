import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { startEmbeddedDatabase } from '../src/database/embedded-database';

/**
 * What `npm run bench:data` writes and `npm run bench` relies on: the bench users, and the
 * category and note vocabulary from which the scenarios pick their filters and search terms.
 */
export const BENCH_PASSWORD = 'bench-password-1';
export const BENCH_ADMIN_EMAIL = 'bench-admin@example.com';
export const benchAnalystEmail = (i: number) => `bench-analyst-${i}@example.com`;

export const INCOME_CATEGORIES = ['Salary', 'Freelance', 'Investments'];
export const EXPENSE_CATEGORIES = [
  'Groceries',
  'Rent',
  'Utilities',
  'Transport',
  'Dining',
  'Entertainment',
  'Healthcare',
  'Insurance',
  'Shopping',
];

/** Three of these words make a note, so a one-word `q` matches a few percent of the rows. */
export const NOTE_WORDS = [
  'coffee',
  'lunch',
  'dinner',
  'supermarket',
  'bakery',
  'fuel',
  'taxi',
  'train',
  'parking',
  'electricity',
  'water',
  'internet',
  'phone',
  'pharmacy',
  'dentist',
  'gym',
  'cinema',
  'concert',
  'books',
  'clothes',
  'shoes',
  'gift',
  'birthday',
  'holiday',
  'hotel',
  'flight',
  'repair',
  'subscription',
  'streaming',
  'bonus',
  'invoice',
  'client',
  'refund',
  'dividend',
  'interest',
  'market',
  'weekly',
  'monthly',
  'online',
  'card',
];

export interface BenchDatabase {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** DATABASE_URL when set, else the app's embedded server in DATA_DIR (default ./.data), started here. */
export async function openBenchDatabase(): Promise<BenchDatabase> {
  const url = process.env.DATABASE_URL?.trim();
  if (url) return { url, embedded: false, stop: () => Promise.resolve() };
  // The embedded server logs through Nest's default logger; its debug lines are noise here.
  Logger.overrideLogger(['log', 'warn', 'error']);
  const db = await startEmbeddedDatabase(resolve(process.env.DATA_DIR ?? './.data'));
  return { url: db.url, embedded: true, stop: () => db.stop() };
}

export function elapsed(startMs: number): string {
  return `${((performance.now() - startMs) / 1000).toFixed(2)} s`;
}
