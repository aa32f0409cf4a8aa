import { IsString, MaxLength, MinLength } from 'class-validator';

export class RefreshTokenDto {
  /** The opaque refresh token from login or the previous refresh. */
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  refreshToken!: string;
}
