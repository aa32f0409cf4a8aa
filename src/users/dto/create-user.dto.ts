import { IsEmail, IsIn, IsString, MaxLength } from 'class-validator';
import { CodePointLength, PasswordBytes, Trim, TrimLower } from '../../common/validators';
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

  /** 8-72 bytes of UTF-8. */
  @IsString()
  @PasswordBytes()
  password!: string;

  @IsIn(ROLES)
  role!: Role;
}
