import { randomBytes } from 'node:crypto';
import type { CreateTransactionDto } from '../../src/transactions/dto/create-transaction.dto';
import type { TransactionResponse } from '../../src/transactions/dto/transaction.response';
import { TransactionsService } from '../../src/transactions/transactions.service';
import type { User } from '../../src/users/entities/user.entity';
import { UsersService } from '../../src/users/users.service';
import type { Role } from '../factories';
import { VALID_TX } from '../transactions';
import type { Harness } from './harness';

let counter = 0;

/** A user created by the first admin through UsersService, as the services see a caller. */
export async function createUser(
  h: Harness,
  role: Role,
  overrides: { name?: string; email?: string } = {},
): Promise<User> {
  const n = ++counter;
  return h.get(UsersService).create(h.admin, {
    name: overrides.name ?? `${role} ${n}`,
    email: overrides.email ?? `${role}-${n}-${randomBytes(3).toString('hex')}@test.local`,
    password: `pw-${randomBytes(6).toString('hex')}`,
    role,
  });
}

/** A transaction created by `actor` through TransactionsService: the e2e files' valid body (VALID_TX) with `overrides`. */
export function createTx(
  h: Harness,
  actor: User,
  overrides: Partial<CreateTransactionDto> = {},
): Promise<TransactionResponse> {
  return h.get(TransactionsService).create(actor, { ...VALID_TX, ...overrides });
}
