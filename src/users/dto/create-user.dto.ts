import { IsEmail, IsIn, IsString, MaxLength } from 'class-validator';
import {
  CodePointLength,
  PasswordBytes,
  RequiredUnlessApiKey,
  Trim,
  TrimLower,
} from '../../common/validators';
import { ROLES, type Role } from '../../common/roles';

export class CreateUserDto {
  /** Display name, 1-100 characters after trimming. */
  @Trim()
  @IsString()
  @CodePointLength(1, 100)
  name!: string;

  /** Login email; stored in lower case and unique regardless of case. */
  @TrimLower()
  @IsString()
  @MaxLength(254)
  @IsEmail()
  email!: string;

  /**
   * 8-72 bytes of UTF-8. Required when signed in. Refused (403) with an API key: a user a key
   * creates has no password (cannot sign in) until an admin sets one from a signed-in session.
   */
  @RequiredUnlessApiKey()
  @IsString()
  @PasswordBytes()
  password?: string;

  /** `admin` only when signed in: an API key cannot create an admin (403). */
  @IsIn(ROLES)
  role!: Role;
}
