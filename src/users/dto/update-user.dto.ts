import { IsBoolean, IsIn, IsOptional, IsString } from 'class-validator';
import { CodePointLength, PasswordBytes, Trim } from '../../common/validators';
import { ROLES, type Role } from '../entities/user.entity';

export class UpdateUserDto {
  @IsOptional()
  @Trim()
  @IsString()
  @CodePointLength(1, 100)
  name?: string;

  /** Demoting the last active admin is refused with 409. */
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  /** `false` deactivates the user at once and revokes its refresh tokens. */
  @IsOptional()
  @IsBoolean()
  isActive?: boolean;

  /** A new password (8-72 bytes); revokes the user's refresh tokens. */
  @IsOptional()
  @IsString()
  @PasswordBytes()
  password?: string;
}
