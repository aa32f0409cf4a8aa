import { ApiProperty } from '@nestjs/swagger';
import { UserResponse } from '../../users/dto/user.response';

export class TokenResponse {
  /** Short-lived JWT (HS256) for `Authorization: Bearer`. */
  accessToken!: string;
  /** Opaque, single-use; exchange it at /auth/refresh for a new pair. */
  refreshToken!: string;
  @ApiProperty({ enum: ['Bearer'] })
  tokenType!: 'Bearer';
  /** Access token lifetime in seconds. */
  expiresIn!: number;
  user!: UserResponse;
}
