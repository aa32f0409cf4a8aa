import { DataSource } from 'typeorm';
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

  it("opens the app's sessions with JIT off and the statement timeout (startup settings)", async () => {
    // `client`: set by the session's startup packet, whatever the server's own setting is (the
    // embedded server turns JIT off too, the machine's PostgreSQL in CI does not).
    const rows = await h
      .get(DataSource)
      .query<{ name: string; setting: string; source: string }[]>(
        `SELECT name, setting, source FROM pg_settings WHERE name IN ('jit', 'statement_timeout') ORDER BY name`,
      );
    expect(rows).toEqual([
      { name: 'jit', setting: 'off', source: 'client' },
      { name: 'statement_timeout', setting: expect.not.stringMatching(/^0$/), source: 'client' },
    ]);
  });
});
