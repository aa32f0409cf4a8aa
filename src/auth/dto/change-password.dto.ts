import { IsString, MaxLength } from 'class-validator';
import { PasswordBytes } from '../../common/validators';

export class ChangePasswordDto {
  @IsString()
  @MaxLength(4096)
  currentPassword!: string;

  /** 8-72 bytes of UTF-8. */
  @IsString()
  @PasswordBytes()
  newPassword!: string;
}
