import { randomBytes } from 'node:crypto';
import type { User } from '../../src/users/entities/user.entity';
import { UsersService } from '../../src/users/users.service';
import type { Role } from '../factories';
import type { Harness } from './harness';

let counter = 0;

/** A user created by the first admin through UsersService, as the services see a caller. */
export async function createUser(h: Harness, role: Role): Promise<User> {
  const n = ++counter;
  return h.get(UsersService).create(h.admin, {
    name: `${role} ${n}`,
    email: `${role}-${n}-${randomBytes(3).toString('hex')}@test.local`,
    password: `pw-${randomBytes(6).toString('hex')}`,
    role,
  });
}
