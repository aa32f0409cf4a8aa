import { IsString, MaxLength, MinLength } from 'class-validator';
import { TrimLower } from '../../common/validators';

export class LoginDto {
  @TrimLower()
  @IsString()
  @MinLength(1)
  @MaxLength(254)
  email!: string;

  /** Checked as given; any wrong password, whatever its length, is the same 401. */
  @IsString()
  @MinLength(1)
  @MaxLength(4096)
  password!: string;
}
