import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

export const ACCOUNT_TYPES = [
  'checking',
  'savings',
  'credit_card',
  'cash',
  'investment',
  'other',
] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

/** An account of one owner in one currency (money migration). */
@Entity('accounts')
export class Account {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'enum', enum: ACCOUNT_TYPES, enumName: 'account_type' })
  type!: AccountType;

  /** ISO 4217 code; fixed once anything references the account. */
  @Column({ type: 'char', length: 3 })
  currency!: string;

  /** NUMERIC at the currency's minor units, kept as a decimal string; may be negative. */
  @Column({ name: 'opening_balance', type: 'numeric' })
  openingBalance!: string;

  @Column({ name: 'opening_date', type: 'date' })
  openingDate!: string;

  @Column({ type: 'boolean', default: false })
  archived!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
