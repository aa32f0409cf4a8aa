import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * The rate of one `base` unit in `quote` on `date` (money migration). One rate per pair and day;
 * the reverse pair is a row of its own, never derived here (the lookup rule in `fx_rate()` does).
 */
@Entity('exchange_rates')
export class ExchangeRate {
  /** ISO 4217 code. */
  @PrimaryColumn({ type: 'char', length: 3 })
  base!: string;

  /** ISO 4217 code, never `base`. */
  @PrimaryColumn({ type: 'char', length: 3 })
  quote!: string;

  @PrimaryColumn({ type: 'date' })
  date!: string;

  /** NUMERIC (> 0, at most 10 decimals), kept as a decimal string; never a JS number. */
  @Column({ type: 'numeric' })
  rate!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
