import { startApp, type TestApp } from '../app';
import { contractViolations, type ReceivedResponse } from '../contract';

/**
 * The response check every e2e request goes through (test/contract.ts). It must fail on a
 * mismatch, or a green suite would prove nothing: these cases feed it responses the document
 * does not allow, then let real ones through.
 */
const problem = {
  type: 'about:blank',
  title: 'Unauthorized',
  status: 401,
  detail: 'Missing or invalid access token',
  instance: '/api/v1/transactions/export',
  requestId: '3b241101-e2bb-4255-8caf-4136c566a962',
};
const received = (status: number, contentType: string, body: unknown): ReceivedResponse => ({
  status,
  headers: { 'content-type': contentType },
  body,
  text: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('response contract check', () => {
  it('rejects a status the operation does not document', () => {
    expect(
      contractViolations(
        'get',
        '/api/v1/auth/me',
        received(418, 'application/problem+json', problem),
      ),
    ).toEqual(['status 418 is not documented']);
  });

  it('rejects the export answering 401 as text/csv: its errors are problem+json', () => {
    expect(
      contractViolations(
        'get',
        '/api/v1/transactions/export?from=2026-01-01',
        received(401, 'text/csv', 'id,date\n'),
      ),
    ).toEqual(['401 as text/csv; documented: application/problem+json']);
    expect(
      contractViolations(
        'get',
        '/api/v1/transactions/export',
        received(401, 'application/problem+json', problem),
      ),
    ).toEqual([]);
  });

  it('rejects a body that breaks the schema: a missing field, a wrong type, a bad format', () => {
    const { requestId: _, ...withoutId } = problem;
    expect(
      contractViolations(
        'get',
        '/api/v1/auth/me',
        received(401, 'application/problem+json', withoutId),
      ),
    ).toEqual([expect.stringContaining("must have required property 'requestId'")]);
    const row = {
      id: 'not-a-uuid',
      ownerId: '3b241101-e2bb-4255-8caf-4136c566a962',
      type: 'expense',
      amount: 12.5,
      category: 'Food',
      date: '2026-03-14',
      notes: null,
      createdAt: '2026-03-14T10:00:00.000Z',
      updatedAt: '2026-03-14T10:00:00.000Z',
    };
    const found = contractViolations(
      'get',
      `/api/v1/transactions/${row.ownerId}`,
      received(200, 'application/json', row),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^id: must match format "uuid"/),
        'amount: must be string',
      ]),
    );
  });

  it('rejects a body on a response documented without one', () => {
    expect(
      contractViolations(
        'post',
        '/api/v1/auth/logout',
        received(204, 'application/json', { ok: true }),
      ),
    ).toEqual(['204 is documented without a body, got application/json']);
  });

  it('leaves routes outside the document alone', () => {
    expect(contractViolations('get', '/health/live', received(200, 'text/html', '<p>'))).toEqual(
      [],
    );
  });

  describe('against the running server', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startApp();
    });
    afterAll(() => app.stop());

    // app.http() runs the check on each response: these pass only if the server matches the document.
    it('answers an anonymous export with a documented 401 problem+json', async () => {
      const res = await app.http().get('/api/v1/transactions/export').expect(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('answers a JSON route sent a form body with a documented 415', async () => {
      await app.http().post('/api/v1/auth/login').type('form').send('email=a').expect(415);
    });
  });
});
