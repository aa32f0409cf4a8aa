import { Injectable } from '@nestjs/common';
import * as bcrypt from 'bcrypt';
import { PASSWORD_MAX_BYTES } from '../common/password-rule';
import { AppConfig } from '../config/app-config';

@Injectable()
export class PasswordHasher {
  // Compared against when the email is unknown, so a miss costs the same time as a wrong password.
  private readonly dummyHash: string;

  constructor(private readonly config: AppConfig) {
    this.dummyHash = bcrypt.hashSync('not-a-real-password', config.bcryptRounds);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.config.bcryptRounds);
  }

  /** Always runs one bcrypt comparison; passwords over bcrypt's 72 bytes never match. */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const fits = Buffer.byteLength(password, 'utf8') <= PASSWORD_MAX_BYTES;
    const matches = await bcrypt.compare(
      fits ? password : password.slice(0, PASSWORD_MAX_BYTES),
      hash ?? this.dummyHash,
    );
    return fits && hash !== undefined && matches;
  }
}
