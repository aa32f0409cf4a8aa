import { randomBytes } from 'node:crypto';
import { UnauthorizedException } from '@nestjs/common';
import { AuditService } from '../../src/audit/audit.service';
import { AuthService } from '../../src/auth/auth.service';
import { DashboardService } from '../../src/dashboard/dashboard.service';
import { TransactionListService } from '../../src/transactions/transaction-list.service';
import { TransactionsService } from '../../src/transactions/transactions.service';
import type { CreateTransactionDto } from '../../src/transactions/dto/create-transaction.dto';
import type { User } from '../../src/users/entities/user.entity';
import { UsersService } from '../../src/users/users.service';
import { createUser } from './factories';
import { type Harness, startHarness } from './harness';

/**
 * The auditor role and field masking (docs/api.md section 11), in process: the services mask
 * (src/common/access.ts), so what they hand an auditor is what the routes serialise. An auditor
 * reads the whole organisation with other people's notes as "[masked]" and their emails as
 * `a***@domain` (transactions, users, dashboards, audit changes), and cannot find masked values
 * by searching for them; admins see everything unmasked. The HTTP side (ETags, the CSV export,
 * route access, 403s for writes, API keys) stays in test/e2e/auditor-masking.e2e-spec.ts.
 */

const MASKED = '[masked]';
const SECRET_WORD = `zanzibar${randomBytes(3).toString('hex')}`;

interface Tx {
  id: string;
  ownerId: string;
  notes?: string | null;
}

const byId = <T extends Tx>(rows: T[], id: string): T | undefined => rows.find((r) => r.id === id);
/** What a route would write out, to check that a value appears nowhere in it. */
const text = (body: unknown) => JSON.stringify(body);

describe('auditor role and field masking', () => {
  let h: Harness;
  let transactions: TransactionsService;
  let lists: TransactionListService;
  let users: UsersService;
  let dashboard: DashboardService;
  let audit: AuditService;
  let admin: User;
  let alice: User;
  let auditor: User;
  let secretTx: string;
  let emptyTx: string;
  let nullTx: string;
  let deletedTx: string;
  let auditorOwnTx: string;

  const record = async (who: User, body: Partial<CreateTransactionDto>): Promise<string> =>
    (
      await transactions.create(who, {
        type: 'expense',
        amount: '10.00',
        category: 'Travel',
        date: '2026-02-01',
        ...body,
      })
    ).id;

  beforeAll(async () => {
    h = await startHarness();
    transactions = h.get(TransactionsService);
    lists = h.get(TransactionListService);
    users = h.get(UsersService);
    dashboard = h.get(DashboardService);
    audit = h.get(AuditService);
    admin = h.admin;
    const tag = randomBytes(3).toString('hex');
    [alice, auditor] = await Promise.all([
      createUser(h, 'analyst', { name: `Alice ${tag}`, email: `alice-${tag}@corp.example` }),
      createUser(h, 'auditor', { email: `olga-${tag}@audit.example` }),
    ]);
    secretTx = await record(alice, { notes: `the ${SECRET_WORD} bonus` });
    emptyTx = await record(alice, { notes: '' });
    nullTx = await record(alice, {});
    deletedTx = await record(alice, { notes: 'deleted secret' });
    await transactions.remove(admin, deletedTx);
    // An auditor records nothing itself, but an admin may record a row for it.
    auditorOwnTx = await record(admin, { ownerId: auditor.id, notes: 'auditor own note' });
    // Changes that put notes and emails into the audit trail.
    await transactions.update(admin, secretTx, { notes: `still the ${SECRET_WORD} bonus` });
    await expect(h.get(AuthService).login(alice.email, 'wrong-password')).rejects.toBeInstanceOf(
      UnauthorizedException,
    );
  });
  afterAll(() => h?.close());

  describe('transactions', () => {
    it('lets the auditor read everyone’s rows, masking other people’s non-empty notes', async () => {
      const res = await lists.list(auditor, { limit: 100 });
      const rows = res.rows;
      expect(byId(rows, secretTx)?.notes).toBe(MASKED);
      expect(byId(rows, emptyTx)?.notes).toBe('');
      expect(byId(rows, nullTx)?.notes).toBeNull();
      expect(byId(rows, auditorOwnTx)?.notes).toBe('auditor own note');
      expect(byId(rows, deletedTx)).toBeUndefined();
      expect(text(res)).not.toContain(SECRET_WORD);
    });

    it('allows ownerId= and deleted= for the auditor, still masked', async () => {
      const own = await lists.list(auditor, { ownerId: alice.id, limit: 100 });
      expect(own.rows.every((r) => r.ownerId === alice.id)).toBe(true);
      expect(own.rows).toHaveLength(3);
      const all = await lists.list(auditor, { deleted: 'include', limit: 100 });
      expect(byId(all.rows, deletedTx)?.notes).toBe(MASKED);
      const only = await lists.list(auditor, { deleted: 'only', limit: 100 });
      expect(only.rows.map((r) => r.id)).toEqual([deletedTx]);
      expect(text(only)).not.toContain('deleted secret');
    });

    it('masks in cursor mode too', async () => {
      const res = await lists.list(auditor, { cursor: '', limit: 100 });
      expect(byId(res.rows, secretTx)?.notes).toBe(MASKED);
      expect(text(res)).not.toContain(SECRET_WORD);
    });

    it('masks GET /transactions/:id of someone else’s row, and shows its own', async () => {
      expect((await transactions.findOne(auditor, secretTx)).notes).toBe(MASKED);
      expect((await transactions.findOne(auditor, emptyTx)).notes).toBe('');
      expect((await transactions.findOne(auditor, nullTx)).notes).toBeNull();
      expect((await transactions.findOne(auditor, auditorOwnTx)).notes).toBe('auditor own note');
    });

    it('shows the admin every note unmasked', async () => {
      const res = await lists.list(admin, { ownerId: alice.id, limit: 100 });
      expect(byId(res.rows, secretTx)?.notes).toBe(`still the ${SECRET_WORD} bonus`);
      expect((await transactions.findOne(admin, auditorOwnTx)).notes).toBe('auditor own note');
    });

    it('does not let the auditor find a row by a word of its masked notes (the admin does)', async () => {
      const auditorSearch = await lists.list(auditor, { q: SECRET_WORD });
      expect(auditorSearch.rows).toEqual([]);
      // Page mode: its total is the route's meta.total.
      expect(auditorSearch).toMatchObject({ mode: 'page', total: 0 });
      const cursor = await lists.list(auditor, { q: SECRET_WORD, cursor: '' });
      expect(cursor.rows).toEqual([]);
      const adminSearch = await lists.list(admin, { q: SECRET_WORD });
      expect(adminSearch.rows.map((r) => r.id)).toEqual([secretTx]);
      // The category is not masked: searching it works for the auditor.
      const category = await lists.list(auditor, { q: 'travel', ownerId: alice.id });
      expect(category.rows).toHaveLength(3);
    });
  });

  describe('users', () => {
    const masked = (email: string) => `${email[0]}***${email.slice(email.indexOf('@'))}`;

    it('masks other users’ emails in GET /users as a***@domain, but not its own', async () => {
      const res = await users.list(auditor, { limit: 100 });
      expect(res.rows.find((u) => u.id === alice.id)?.email).toBe(masked(alice.email));
      expect(res.rows.find((u) => u.id === admin.id)?.email).toBe(masked(admin.email));
      expect(res.rows.find((u) => u.id === auditor.id)?.email).toBe(auditor.email);
      expect(text(res)).not.toContain(alice.email);
      expect(masked(alice.email)).toMatch(/^a\*\*\*@corp\.example$/);
    });

    it('masks GET /users/:id of another user, not of itself', async () => {
      expect((await users.read(alice.id, auditor)).email).toBe(masked(alice.email));
      expect((await users.read(auditor.id, auditor)).email).toBe(auditor.email);
    });

    it('shows the admin every email unmasked', async () => {
      const res = await users.list(admin, { limit: 100 });
      expect(res.rows.find((u) => u.id === alice.id)?.email).toBe(alice.email);
      expect((await users.read(alice.id, admin)).email).toBe(alice.email);
    });

    it('does not let the auditor find a user by a part of a masked email (the admin does)', async () => {
      const local = alice.email.slice(1, alice.email.indexOf('@')); // e.g. "lice-ab12cd"
      const auditorSearch = await users.list(auditor, { q: local });
      expect(auditorSearch.rows).toEqual([]);
      expect(auditorSearch.total).toBe(0);
      const domain = await users.list(auditor, { q: 'corp.example' });
      expect(domain.rows).toEqual([]);
      const adminSearch = await users.list(admin, { q: local });
      expect(adminSearch.rows.map((u) => u.id)).toEqual([alice.id]);
      // Names are not masked: searching them works for the auditor.
      const byName = await users.list(auditor, { q: alice.email.slice(6, 12) });
      expect(byName.rows.map((u) => u.id)).toEqual([alice.id]);
    });
  });

  describe('dashboard', () => {
    it('gives the auditor the organisation overview with byUser emails and recent notes masked', async () => {
      const res = await dashboard.overview(auditor, {});
      const byUser = res.byUser!;
      expect(byUser.find((u) => u.userId === alice.id)?.email).toBe(`a***@corp.example`);
      expect(byUser.find((u) => u.userId === auditor.id)?.email).toBe(auditor.email);
      expect(byId(res.recent, secretTx)?.notes).toBe(MASKED);
      expect(text(res)).not.toContain(SECRET_WORD);
      expect(text(res)).not.toContain(alice.email);
      expect(res.summary.transactionCount).toBe(4);
    });

    it('shows the admin byUser emails and recent notes unmasked', async () => {
      const res = await dashboard.overview(admin, {});
      expect(res.byUser!.find((u) => u.userId === alice.id)?.email).toBe(alice.email);
      expect(text(res)).toContain(SECRET_WORD);
    });
  });

  describe('audit log', () => {
    it('masks notes and emails in changes for the auditor', async () => {
      const res = await audit.list(auditor, { limit: 100 });
      expect(text(res)).not.toContain(SECRET_WORD);
      expect(text(res)).not.toContain(alice.email);
      const entries = res.data as {
        action: string;
        entityId: string | null;
        changes: Record<string, unknown>;
      }[];
      const created = entries.find(
        (e) => e.action === 'transaction.create' && e.entityId === secretTx,
      );
      expect(created?.changes.notes).toEqual({ before: null, after: MASKED });
      const updated = entries.find(
        (e) => e.action === 'transaction.update' && e.entityId === secretTx,
      );
      expect(updated?.changes.notes).toEqual({ before: MASKED, after: MASKED });
      const userCreate = entries.find((e) => e.action === 'user.create' && e.entityId === alice.id);
      expect(userCreate?.changes.email).toEqual({ before: null, after: 'a***@corp.example' });
      const failed = entries.find(
        (e) => e.action === 'auth.login_failed' && e.entityId === alice.id,
      );
      expect(failed?.changes.email).toBe('a***@corp.example');
      // Entries about itself show its own email.
      const own = entries.find((e) => e.action === 'user.create' && e.entityId === auditor.id);
      expect((own?.changes.email as { after: string }).after).toBe(auditor.email);
    });

    it('shows the admin the same entries unmasked', async () => {
      const res = await audit.list(admin, { limit: 100 });
      expect(text(res)).toContain(SECRET_WORD);
      expect(text(res)).toContain(alice.email);
    });
  });
});
