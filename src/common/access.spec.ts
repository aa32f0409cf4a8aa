import {
  AccessDenied,
  type Actor,
  assertMayNarrow,
  mayReadUser,
  ownRowsOf,
  writeOwner,
} from './access';

const admin: Actor = { id: 'aaaaaaaa-0000-4000-8000-000000000001', role: 'admin' };
const analyst: Actor = { id: 'bbbbbbbb-0000-4000-8000-000000000002', role: 'analyst' };
const viewer: Actor = { id: 'cccccccc-0000-4000-8000-000000000003', role: 'viewer' };

describe('access rules', () => {
  it('confines reads to the caller own rows except for admins', () => {
    expect(ownRowsOf(admin)).toBeUndefined();
    expect(ownRowsOf(analyst)).toBe(analyst.id);
    expect(ownRowsOf(viewer)).toBe(viewer.id);
  });

  it('lets only admins narrow by owner, user or deleted rows, naming what was refused', () => {
    expect(() => assertMayNarrow(admin, ['ownerId', 'deleted'])).not.toThrow();
    expect(() => assertMayNarrow(analyst, [])).not.toThrow();
    expect(() => assertMayNarrow(viewer, ['userId'])).toThrow(
      new AccessDenied('Only admins may filter by userId'),
    );
    expect(() => assertMayNarrow(analyst, ['ownerId', 'deleted'])).toThrow(
      'Only admins may filter by ownerId or deleted',
    );
  });

  it('writes for the caller unless an admin names another owner, lower-casing the id', () => {
    expect(writeOwner(analyst, undefined)).toBe(analyst.id);
    expect(writeOwner(analyst, analyst.id.toUpperCase())).toBe(analyst.id);
    expect(writeOwner(admin, viewer.id.toUpperCase())).toBe(viewer.id);
    expect(() => writeOwner(analyst, viewer.id)).toThrow(AccessDenied);
    expect(() => writeOwner(viewer, admin.id)).toThrow(AccessDenied);
  });

  it('shows a user to admins and to that user only', () => {
    expect(mayReadUser(admin, viewer.id)).toBe(true);
    expect(mayReadUser(viewer, viewer.id.toUpperCase())).toBe(true);
    expect(mayReadUser(viewer, analyst.id)).toBe(false);
    expect(mayReadUser(analyst, admin.id)).toBe(false);
  });
});
