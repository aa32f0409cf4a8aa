import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rolesTable, withRolesTable } from './roles-table';

describe('docs/api.md roles table', () => {
  it('is the one generated from the permission table (run `npm run docs:roles` after changing it)', () => {
    const doc = readFileSync(join(__dirname, '..', 'docs', 'api.md'), 'utf8');
    expect(doc).toContain(rolesTable());
    expect(withRolesTable(doc)).toBe(doc);
  });
});
