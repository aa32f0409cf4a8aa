import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';
import { hostileInputHelpers, tx } from '../security-input-helpers';

jest.setTimeout(60_000);

/** Sends bytes that are not valid HTTP and returns what came back before the server closed. */
function rawExchange(app: TestApp, bytes: string): Promise<string> {
  const { hostname, port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

/**
 * The edges of HTTP itself, where the server (not a route) answers: every one must still be a
 * problem+json body with the request id, or, for what is not HTTP at all, a bare status line.
 */
describe('HTTP edges', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    analyst = await createUser(app, admin, 'analyst');
  });
  afterAll(() => app.stop());

  describe('paths the router refuses', () => {
    it('answers a path that is not valid percent-encoding with a 400 problem', async () => {
      const res = await app
        .http()
        .get('/api/v1/transactions/%E0%A4%A')
        .set(bearer(analyst))
        .set('X-Request-Id', 'bad-path-1');
      expectProblem(res, 400);
      expect(res.headers['x-request-id']).toBe('bad-path-1');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    });

    it('answers an id thousands of characters long with a 400 naming the id', async () => {
      const res = await app
        .http()
        .get(`/api/v1/transactions/${'a'.repeat(3000)}`)
        .set(bearer(analyst));
      expectProblem(res, 400);
      expect(fieldsOf(res)).toEqual(['id']);
    });

    it('routes a path in another letter case, as before', async () => {
      await app.http().get('/API/V1/AUTH/ME').set(bearer(analyst)).expect(200);
    });
  });

  it('answers a request that is not HTTP with a bare 400 and closes the connection', async () => {
    const answer = await rawExchange(
      app,
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer).not.toMatch(/statusCode/);
  });

  describe('request bodies', () => {
    const { raw } = hostileInputHelpers(() => app);

    /**
     * Sends a JSON body of `size` bytes, as a client that does not wait for an early answer does
     * (the whole body, then it reads), and returns what it read or the socket error it met.
     */
    function sendWhole(size: number): Promise<string> {
      const { hostname, port } = new URL(app.url);
      return new Promise((resolve) => {
        let answer = '';
        const socket = connect(Number(port), hostname);
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (answer += chunk));
        socket.on('close', () => resolve(answer));
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(`${error.code}: ${answer}`));
        socket.write(
          `POST /api/v1/transactions HTTP/1.1\r\nHost: ${hostname}\r\n` +
            `Authorization: Bearer ${analyst.token}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${size}\r\n\r\n`,
        );
        const chunk = Buffer.alloc(64 * 1024, ' ');
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
    }

    it('lets a client that sends all of an 8 MiB JSON body read the 413, then closes', async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const answer = await sendWhole(8 * 1024 * 1024);
        expect(answer).toMatch(/^HTTP\/1\.1 413 /);
        expect(answer).toMatch(/content-type: application\/problem\+json/i);
        expect(answer).toMatch(/connection: close/i);
      }
    });
    const post = (body: string | Buffer, contentType: string) =>
      raw('post', '/api/v1/transactions', body, analyst, contentType);

    it('takes a Content-Type without a body as no body (400 validation, not 415)', async () => {
      const res = await post('', 'text/plain');
      expectProblem(res, 400);
      expect(fieldsOf(res)).toEqual(expect.arrayContaining(['type', 'amount']));
    });

    it('refuses JSON in a charset other than UTF-8 with 415', async () => {
      expectProblem(await post(JSON.stringify(tx()), 'application/json; charset=latin1'), 415);
    });

    it('refuses a compressed JSON body with 415 rather than misreading it', async () => {
      const res = await post(gzipSync(JSON.stringify(tx())), 'application/json').set(
        'Content-Encoding',
        'gzip',
      );
      expectProblem(res, 415);
    });

    it('reads JSON after a UTF-8 byte order mark', async () => {
      await post(`\uFEFF${JSON.stringify(tx())}`, 'application/json').expect(201);
    });
  });

  it.each(['q', 'category'])(
    'answers a CSV export filtered by a %s holding NUL with a 400 problem, not a cut response',
    async (name) => {
      const res = await app
        .http()
        .get(`/api/v1/transactions/export?${name}=a%00b`)
        .set(bearer(analyst));
      expectProblem(res, 400);
      expect(fieldsOf(res)).toEqual([name]);
    },
  );
});
