import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable, isPoolTimeout } from './pool-errors';

const pgError = (code: string) => {
  const e = new DatabaseError('server says no', 0, 'error');
  e.code = code;
  return e;
};
const wrapped = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);
const errno = (code: string) =>
  Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });

describe('isDatabaseUnavailable', () => {
  it.each(['57P01', '57P02', '57P03', '25006', '53300', '08006', '08003'])(
    'takes server error %s, raw or wrapped by TypeORM, for an unavailable database',
    (code) => {
      expect(isDatabaseUnavailable(pgError(code))).toBe(true);
      expect(isDatabaseUnavailable(wrapped(pgError(code)))).toBe(true);
    },
  );

  it.each([
    'Connection terminated unexpectedly',
    'Connection terminated',
    'Client has encountered a connection error and is not queryable',
    'Client was closed and is not queryable',
  ])('takes pg’s "%s", raw or wrapped', (message) => {
    expect(isDatabaseUnavailable(new Error(message))).toBe(true);
    expect(isDatabaseUnavailable(wrapped(new Error(message)))).toBe(true);
  });

  it('takes a database closed to connections (55000 on connect)', () => {
    const closed = pgError('55000');
    closed.message = 'database "finance" is not currently accepting connections';
    expect(isDatabaseUnavailable(closed)).toBe(true);
    expect(isDatabaseUnavailable(pgError('55000'))).toBe(false);
  });

  it('takes a refused or unreachable server', () => {
    expect(isDatabaseUnavailable(errno('ECONNREFUSED'))).toBe(true);
    expect(isDatabaseUnavailable(errno('EHOSTUNREACH'))).toBe(true);
  });

  it.each(['23505', '23514', '22P02', '40001', '57014', '42P01'])(
    'leaves server error %s to its own mapping',
    (code) => expect(isDatabaseUnavailable(pgError(code))).toBe(false),
  );

  it('leaves other errors alone, including a client that hung up (ECONNRESET) and a pool timeout', () => {
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(errno('ECONNRESET'))).toBe(false);
    expect(isDatabaseUnavailable('Connection terminated')).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
    for (const message of [
      'timeout exceeded when trying to connect',
      'Connection terminated due to connection timeout',
    ]) {
      expect(isDatabaseUnavailable(new Error(message))).toBe(false);
      expect(isPoolTimeout(new Error(message))).toBe(true);
    }
  });
});

describe('isDatabaseUnavailable, PgBouncer', () => {
  const bouncer = (message: string) => {
    const e = pgError('08P01');
    e.message = message;
    return e;
  };

  it.each([
    'server conn crashed?',
    'server login has been failing, try again later (server_login_retry)',
    'pgbouncer cannot connect to server',
    'query_wait_timeout',
    'no more connections allowed (max_client_conn)',
  ])('takes PgBouncer’s 08P01 "%s", raw or wrapped, for an unavailable database', (message) => {
    expect(isDatabaseUnavailable(bouncer(message))).toBe(true);
    expect(isDatabaseUnavailable(wrapped(bouncer(message)))).toBe(true);
  });

  it('leaves a protocol violation of PostgreSQL’s own (08P01, a defect) to be a 500', () => {
    expect(
      isDatabaseUnavailable(
        bouncer('bind message supplies 2 parameters, but prepared statement "" requires 1'),
      ),
    ).toBe(false);
  });
});
