import { EventsService } from '../../src/events/events.service';
import type { User } from '../../src/users/entities/user.entity';
import { createTx, createUser } from './factories';
import { type Harness, startHarness } from './harness';

interface FeedEvent {
  type: string;
  data: Record<string, unknown>;
}

/**
 * The change feed goes through the same access policy as the resources it describes, in process:
 * EventsService.list masks per reader (present-event.ts), so auditors read other people's notes
 * and emails masked. What an API key's scopes change (user events only with `users:read`) is
 * decided by the route from the key, and stays in test/e2e/events-access.e2e-spec.ts.
 */
describe('event feed masking', () => {
  let h: Harness;
  let events: EventsService;
  let admin: User;
  let analyst: User;
  let auditor: User;

  const feed = async (caller: User): Promise<FeedEvent[]> =>
    (await events.list(caller, { limit: 100 })).data;
  // The feed hands out events once no older write is still running; a moment may pass.
  const settled = async (caller: User, min: number): Promise<FeedEvent[]> => {
    for (let i = 0; i < 50; i++) {
      const list = await feed(caller);
      if (list.length >= min) return list;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return feed(caller);
  };

  beforeAll(async () => {
    h = await startHarness();
    events = h.get(EventsService);
    admin = h.admin;
    analyst = await createUser(h, 'analyst', { email: 'ann.lyst@corp.example' });
    auditor = await createUser(h, 'auditor');
    for (const notes of ['salary for March', '']) {
      await createTx(h, analyst, {
        type: 'income',
        amount: '10.00',
        category: 'Pay',
        date: '2026-03-01',
        notes,
      });
    }
  });
  afterAll(() => h?.close());

  it('shows the admin every event unmasked', async () => {
    const list = await settled(admin, 4);
    const created = list.filter((e) => e.type === 'transaction.created');
    expect(created.map((e) => e.data.notes)).toEqual(['salary for March', '']);
    const user = list.find((e) => e.type === 'user.created' && e.data.id === analyst.id);
    expect(user?.data.email).toBe('ann.lyst@corp.example');
  });

  it("masks other people's notes and emails for an auditor, leaving empty notes empty", async () => {
    const list = await settled(auditor, 4);
    const created = list.filter((e) => e.type === 'transaction.created');
    expect(created.map((e) => e.data.notes)).toEqual(['[masked]', '']);
    const user = list.find((e) => e.type === 'user.created' && e.data.id === analyst.id);
    expect(user?.data.email).toBe('a***@corp.example');
    expect(JSON.stringify(list)).not.toContain('salary');
    expect(JSON.stringify(list)).not.toContain('ann.lyst');
  });

  it('shows an analyst its own transactions unmasked and no user events', async () => {
    const list = await settled(analyst, 2);
    expect(list.map((e) => e.type)).toEqual(['transaction.created', 'transaction.created']);
    expect(list[0].data.notes).toBe('salary for March');
  });
});
