import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rolesTable, withRolesTable } from './roles-table';

describe('README roles table', () => {
  it('is the one generated from the permission table (run `npm run docs:roles` after changing it)', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain(rolesTable());
    expect(withRolesTable(readme)).toBe(readme);
  });
});
