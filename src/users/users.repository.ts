import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Client } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { likePattern } from '../common/validators';
import { query } from '../database/sql';
import type { ListUsersDto } from './dto/list-users.dto';
import { User } from './entities/user.entity';

// A user as the API sees it (never the password hash).
export const USER_COLUMNS = `id, name, email, role, is_active AS "isActive", created_at AS "createdAt", updated_at AS "updatedAt"`;

export type UserChanges = Partial<Pick<User, 'name' | 'role' | 'isActive' | 'passwordHash'>>;

/** The channel a trigger on `users` NOTIFYs, on commit, with the id of every changed user. */
const CHANGES_CHANNEL = 'finance_users';

/**
 * Every query on `users`. Methods that take an `EntityManager` run inside the caller's
 * transaction; the others use the pool and must not be called from inside one.
 */
@Injectable()
export class UsersRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The per-request reload behind the JWT guard, or the user a refresh token belongs to. */
  // Plain SQL rather than the repository's find(): it runs on every request, and the ORM's query
  // building and hydration cost more than the lookup itself (profiled under load).
  async findActiveById(id: string, m: EntityManager = this.db.manager): Promise<User | null> {
    const [user] = await query<User>(
      m,
      `SELECT ${USER_COLUMNS} FROM users WHERE id = $1 AND is_active`,
      [id],
    );
    return user ?? null;
  }

  /**
   * The active user, share-locked until the transaction ends: a concurrent deactivation or
   * password change (which update the row) waits, and its token revocation then sees every token
   * this transaction issues.
   */
  async lockActiveForShare(m: EntityManager, id: string): Promise<User | null> {
    const [user] = await query<User>(
      m,
      `SELECT ${USER_COLUMNS} FROM users WHERE id = $1 AND is_active FOR SHARE`,
      [id],
    );
    return user ?? null;
  }

  findById(id: string): Promise<User | null> {
    return this.db.getRepository(User).findOneBy({ id });
  }

  findByEmailWithHash(email: string): Promise<User | null> {
    return this.withHash().where('u.email = :email', { email }).getOne();
  }

  findWithHash(id: string): Promise<User | null> {
    return this.withHash().where('u.id = :id', { id }).getOne();
  }

  /** `emailsHidden`: `q` matches names only (the reader sees emails masked). */
  async list(
    q: ListUsersDto,
    page: number,
    limit: number,
    emailsHidden = false,
  ): Promise<[User[], number]> {
    const qb = this.db.getRepository(User).createQueryBuilder('u');
    if (q.role) qb.andWhere('u.role = :role', { role: q.role });
    if (q.isActive !== undefined) qb.andWhere('u.is_active = :isActive', { isActive: q.isActive });
    if (q.q) {
      qb.andWhere(emailsHidden ? 'u.name ILIKE :q' : '(u.name ILIKE :q OR u.email ILIKE :q)', {
        q: likePattern(q.q),
      });
    }
    return qb
      .orderBy('u.created_at', 'ASC')
      .addOrderBy('u.id', 'ASC')
      .skip((page - 1) * limit)
      .take(limit)
      .getManyAndCount();
  }

  /**
   * Sets a new password hash only if the stored one is still `expectedHash` (the one the caller
   * verified the current password against), so two concurrent changes cannot both win.
   */
  async replacePasswordHash(
    m: EntityManager,
    id: string,
    expectedHash: string,
    newHash: string,
  ): Promise<boolean> {
    const rows = await query(
      m,
      `UPDATE users SET password_hash = $3, updated_at = now()
       WHERE id = $1 AND password_hash = $2 RETURNING 1`,
      [id, expectedHash, newHash],
    );
    return rows.length > 0;
  }

  async insert(
    m: EntityManager,
    user: Pick<User, 'name' | 'email' | 'role' | 'passwordHash'>,
  ): Promise<User> {
    const repo = m.getRepository(User);
    const { identifiers } = await repo.insert(user);
    return repo.findOneByOrFail({ id: identifiers[0].id as string });
  }

  count(m: EntityManager): Promise<number> {
    return m.getRepository(User).count();
  }

  /**
   * The user, locked against other changes until the transaction ends. NO KEY UPDATE, not UPDATE:
   * the id never changes, and a full UPDATE lock would also block the foreign-key checks of
   * inserts that reference the user (its audit entries, tokens, transactions) — two admins
   * editing each other would deadlock on each other's audit entry.
   */
  lock(m: EntityManager, id: string): Promise<User | null> {
    return m.getRepository(User).findOne({ where: { id }, lock: { mode: 'for_no_key_update' } });
  }

  /**
   * Share-locks the user if it is still active with this password hash (the one a login just
   * verified), so a password change or deactivation committing meanwhile cannot be overtaken by
   * the login's new refresh token.
   */
  async lockIfPasswordIs(m: EntityManager, id: string, passwordHash: string): Promise<boolean> {
    const rows = await query(
      m,
      'SELECT 1 FROM users WHERE id = $1 AND is_active AND password_hash = $2 FOR SHARE',
      [id, passwordHash],
    );
    return rows.length > 0;
  }

  async update(m: EntityManager, id: string, changes: UserChanges): Promise<User> {
    const repo = m.getRepository(User);
    if (Object.keys(changes).length > 0) await repo.update({ id }, changes);
    return repo.findOneByOrFail({ id });
  }

  countOtherActiveAdmins(m: EntityManager, exceptId: string): Promise<number> {
    return m
      .getRepository(User)
      .createQueryBuilder('u')
      .where(`u.role = 'admin' AND u.is_active AND u.id <> :exceptId`, { exceptId })
      .getCount();
  }

  /**
   * Subscribes `client`, a connected session of its own (never a pooled one), to the users'
   * changes: it then emits a `notification` with the user's id for every change committed.
   */
  async listenForChanges(client: Client): Promise<void> {
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
  }

  /** Serialises the callers of one `key` until the transaction ends (pg_advisory_xact_lock). */
  async lockKey(m: EntityManager, key: number): Promise<void> {
    await m.query('SELECT pg_advisory_xact_lock($1)', [key]);
  }

  private withHash() {
    return this.db.getRepository(User).createQueryBuilder('u').addSelect('u.passwordHash');
  }
}
