import { IsBoolean, IsIn, IsString } from 'class-validator';
import { CodePointLength, Omittable, PasswordBytes, Trim } from '../../common/validators';
import { ROLES, type Role } from '../../common/roles';

export class UpdateUserDto {
  @Omittable()
  @Trim()
  @IsString()
  @CodePointLength(1, 100)
  name?: string;

  /** Demoting the last active admin is refused with 409; `admin` only when signed in (an API key: 403). */
  @Omittable()
  @IsIn(ROLES)
  role?: Role;

  /**
   * `false` deactivates the user at once and revokes its refresh tokens and API keys; reactivating
   * it brings neither back.
   */
  @Omittable()
  @IsBoolean()
  isActive?: boolean;

  /** A new password (8-72 bytes); revokes the user's refresh tokens. Only when signed in (an API key: 403). */
  @Omittable()
  @IsString()
  @PasswordBytes()
  password?: string;
}
