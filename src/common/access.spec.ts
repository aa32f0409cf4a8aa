import {
  AccessDenied,
  type Actor,
  assertKeyMayChangeUser,
  assertKeyMayWriteUser,
  assertMayExport,
  assertMayNarrow,
  maskChanges,
  masksOthersEmails,
  masksOthersNotes,
  maskEmail,
  maskTransaction,
  maskUser,
  mayReadUser,
  exportsOf,
  ownRowsOf,
  ownWritesOf,
  writeOwner,
} from './access';

const admin: Actor = { id: 'aaaaaaaa-0000-4000-8000-000000000001', role: 'admin' };
const analyst: Actor = { id: 'bbbbbbbb-0000-4000-8000-000000000002', role: 'analyst' };
const viewer: Actor = { id: 'cccccccc-0000-4000-8000-000000000003', role: 'viewer' };
const auditor: Actor = { id: 'dddddddd-0000-4000-8000-000000000004', role: 'auditor' };

describe('access rules', () => {
  it('confines reads to the caller own rows except for admins and auditors', () => {
    expect(ownRowsOf(admin)).toBeUndefined();
    expect(ownRowsOf(auditor)).toBeUndefined();
    expect(ownRowsOf(analyst)).toBe(analyst.id);
    expect(ownRowsOf(viewer)).toBe(viewer.id);
  });

  it('lets only admins and auditors narrow by owner, user or deleted rows, naming what was refused', () => {
    expect(() => assertMayNarrow(admin, ['ownerId', 'deleted'])).not.toThrow();
    expect(() => assertMayNarrow(auditor, ['userId'])).not.toThrow();
    expect(() => assertMayNarrow(analyst, [])).not.toThrow();
    expect(() => assertMayNarrow(viewer, ['userId'])).toThrow(
      new AccessDenied('Only admins and auditors may filter by userId'),
    );
    expect(() => assertMayNarrow(analyst, ['ownerId', 'deleted'])).toThrow(
      'Only admins and auditors may filter by ownerId or deleted',
    );
  });

  it('writes for the caller unless an admin names another owner, lower-casing the id', () => {
    expect(writeOwner(analyst, undefined)).toBe(analyst.id);
    expect(writeOwner(analyst, analyst.id.toUpperCase())).toBe(analyst.id);
    expect(writeOwner(admin, viewer.id.toUpperCase())).toBe(viewer.id);
    expect(() => writeOwner(analyst, viewer.id)).toThrow(AccessDenied);
    expect(() => writeOwner(viewer, admin.id)).toThrow(AccessDenied);
    expect(() => writeOwner(auditor, viewer.id)).toThrow(AccessDenied);
  });

  it('lets only a signed-in session set a password or give the admin role, never an API key', () => {
    expect(() =>
      assertKeyMayWriteUser(false, { role: 'admin', password: 'secret-123' }),
    ).not.toThrow();
    expect(() => assertKeyMayWriteUser(true, { role: 'viewer' })).not.toThrow();
    expect(() => assertKeyMayWriteUser(true, {})).not.toThrow();
    expect(() => assertKeyMayWriteUser(true, { password: 'secret-123' })).toThrow(
      'API keys cannot set passwords; sign in instead',
    );
    expect(() => assertKeyMayWriteUser(true, { role: 'admin' })).toThrow(
      'API keys cannot give the admin role; sign in instead',
    );
    expect(() => assertKeyMayWriteUser(true, { role: 'admin', password: '' })).toThrow(
      'API keys cannot set passwords or give the admin role; sign in instead',
    );
    expect(() => assertKeyMayWriteUser(true, { password: null })).toThrow(AccessDenied);
  });

  it('shows a user to admins, auditors and to that user only', () => {
    expect(mayReadUser(admin, viewer.id)).toBe(true);
    expect(mayReadUser(auditor, viewer.id)).toBe(true);
    expect(mayReadUser(viewer, viewer.id.toUpperCase())).toBe(true);
    expect(mayReadUser(viewer, analyst.id)).toBe(false);
    expect(mayReadUser(analyst, admin.id)).toBe(false);
  });

  it('lets a user export itself and admins anyone; an auditor is refused another user', () => {
    expect(() => assertMayExport(viewer, viewer.id.toUpperCase())).not.toThrow();
    expect(() => assertMayExport(auditor, auditor.id)).not.toThrow();
    expect(() => assertMayExport(admin, viewer.id)).not.toThrow();
    expect(() => assertMayExport(auditor, viewer.id)).toThrow(AccessDenied);
    expect(() => assertMayExport(analyst, viewer.id)).toThrow(AccessDenied);
  });

  it('shows an export to whoever asked for it, and admins any', () => {
    expect(exportsOf(admin)).toBeUndefined();
    expect(exportsOf(auditor)).toBe(auditor.id);
    expect(exportsOf(analyst)).toBe(analyst.id);
    expect(exportsOf(viewer)).toBe(viewer.id);
  });

  describe('field masking', () => {
    const row = { id: 't1', ownerId: viewer.id, notes: 'rent for flat 3', amount: '1.00' };

    it("masks the notes of other people's rows for auditors, never for admins or the owner", () => {
      expect(maskTransaction(auditor, row)).toEqual({ ...row, notes: '[masked]' });
      expect(maskTransaction(admin, row)).toBe(row);
      expect(maskTransaction(viewer, row)).toBe(row);
      expect(maskTransaction(auditor, { ...row, ownerId: auditor.id })).toEqual({
        ...row,
        ownerId: auditor.id,
      });
    });

    it('leaves empty notes empty', () => {
      expect(maskTransaction(auditor, { ...row, notes: null }).notes).toBeNull();
      expect(maskTransaction(auditor, { ...row, notes: '' }).notes).toBe('');
    });

    it("masks other users' emails for auditors, keeping the first character and the domain", () => {
      const user = { id: viewer.id, email: 'alice@example.com', name: 'Alice' };
      expect(maskUser(auditor, user)).toEqual({ ...user, email: 'a***@example.com' });
      expect(maskUser(admin, user)).toBe(user);
      expect(maskUser(viewer, user)).toBe(user);
      expect(maskEmail('ünïcode@example.org')).toBe('ü***@example.org');
      expect(maskEmail('')).toBe('***');
    });

    it('searches neither notes nor emails for a reader who sees them masked', () => {
      expect(masksOthersNotes(auditor)).toBe(true);
      expect(masksOthersEmails(auditor)).toBe(true);
      for (const reader of [admin, analyst, viewer]) {
        expect(masksOthersNotes(reader)).toBe(false);
        expect(masksOthersEmails(reader)).toBe(false);
      }
    });

    it('masks notes and emails inside audit changes, before and after', () => {
      const changes = {
        notes: { before: 'old secret', after: 'new secret' },
        amount: { before: '1.00', after: '2.00' },
      };
      expect(maskChanges(auditor, { entityType: 'transaction', entityId: 't1' }, changes)).toEqual({
        notes: { before: '[masked]', after: '[masked]' },
        amount: changes.amount,
      });
      expect(maskChanges(admin, { entityType: 'transaction', entityId: 't1' }, changes)).toBe(
        changes,
      );
      const login = { email: 'bob@example.com' };
      expect(maskChanges(auditor, { entityType: 'user', entityId: null }, login)).toEqual({
        email: 'b***@example.com',
      });
      expect(maskChanges(auditor, { entityType: 'user', entityId: auditor.id }, login)).toBe(login);
    });
  });

  it('confines changes to existing rows to the caller own, except for admins', () => {
    expect(ownWritesOf(admin)).toBeUndefined();
    expect(ownWritesOf(analyst)).toBe(analyst.id);
    expect(ownWritesOf(auditor)).toBe(auditor.id);
  });

  it("masks a transfer's notes in audit changes as a transaction's", () => {
    const changes = {
      notes: { before: null, after: 'rent' },
      amount: { before: null, after: '1.00' },
    };
    expect(maskChanges(auditor, { entityType: 'transfer', entityId: 'x' }, changes)).toEqual({
      notes: { before: null, after: '[masked]' },
      amount: { before: null, after: '1.00' },
    });
    expect(maskChanges(admin, { entityType: 'transfer', entityId: 'x' }, changes)).toBe(changes);
  });
});

describe('assertKeyMayChangeUser', () => {
  it('refuses a key any change to an admin, and nothing else', () => {
    expect(() => assertKeyMayChangeUser(true, { role: 'admin' })).toThrow(AccessDenied);
    for (const role of ['analyst', 'viewer', 'auditor'] as const)
      expect(() => assertKeyMayChangeUser(true, { role })).not.toThrow();
    expect(() => assertKeyMayChangeUser(false, { role: 'admin' })).not.toThrow();
  });
});
