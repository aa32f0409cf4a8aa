import { UsersService } from '../../src/users/users.service';
import { type Harness, startHarness } from './harness';

describe('in-process harness', () => {
  let h: Harness;
  beforeAll(async () => (h = await startHarness()));
  afterAll(() => h?.close());

  it('wires the app on a migrated database with the first admin', async () => {
    const users = await h.get(UsersService).create(h.admin, {
      name: 'A',
      email: 'a@test.local',
      password: 'pw-123456789',
      role: 'analyst',
    });
    expect(users.role).toBe('analyst');
  });
});
