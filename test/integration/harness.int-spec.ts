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
    const db = h.get(DataSource);
    const [jit] = await db.query<{ jit: string }[]>('SHOW jit');
    const [timeout] = await db.query<{ statement_timeout: string }[]>('SHOW statement_timeout');
    expect(jit.jit).toBe('off');
    expect(timeout.statement_timeout).not.toBe('0');
  });
});
