/** The shapes of the API bodies the page reads (docs/api.md sections 2, 5 and 14). */
export type Role = 'admin' | 'analyst' | 'viewer' | 'auditor';

export interface User {
  id: string;
  name: string;
  email: string;
  role: Role;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  user: User;
}

export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  requestId?: string;
  errors?: { field: string; message: string }[];
  missingRates?: { from: string; to: string; date: string }[];
}

export interface Totals {
  currency: string;
  totalIncome: string;
  totalExpenses: string;
  netBalance: string;
  transactionCount: number;
}

export interface Summary extends Totals {
  byCurrency: Totals[];
}

export interface Transaction {
  id: string;
  type: 'income' | 'expense';
  amount: string;
  currency: string;
  category: string;
  date: string;
  notes: string | null;
}

export interface CategoryTotal {
  category: string;
  type: 'income' | 'expense';
  total: string;
  count: number;
  share: string;
  currency: string;
}

export interface TrendPoint {
  period: string;
  income: string;
  expenses: string;
  net: string;
  currency: string;
}

export interface UserTotals extends Totals {
  userId: string;
  name: string;
  email: string;
}

export interface RoleCounts {
  active: number;
  inactive: number;
}

export interface UserCounts {
  total: number;
  active: number;
  admin: RoleCounts;
  analyst: RoleCounts;
  viewer: RoleCounts;
  auditor: RoleCounts;
}

/** GET /dashboard, shaped by role. */
export interface Dashboard {
  summary: Summary;
  recent: Transaction[];
  categories?: CategoryTotal[];
  trends?: TrendPoint[];
  byUser?: UserTotals[];
  users?: UserCounts;
}

export interface Currency {
  code: string;
  name: string;
  minorUnits: number;
}

export interface Page<T> {
  data: T[];
  meta: { page: number; totalPages: number; total: number };
}

export const RANGES = [
  ['all', 'All time'],
  ['mtd', 'Month to date'],
  ['ytd', 'Year to date'],
  ['last30d', 'Last 30 days'],
  ['last12m', 'Last 12 months'],
] as const;
export type Range = (typeof RANGES)[number][0];
