import { ApiProperty } from '@nestjs/swagger';
import { PageMeta, PageQueryDto } from '../../common/pagination';
import { type Scope, SCOPES } from '../../common/permissions';
import { IsOptional, IsUUID } from 'class-validator';

export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  name!: string;
  /** The key's first 12 characters (`fin_` and 8 more), to recognise it; not enough to use it. */
  @ApiProperty({ example: 'fin_Xq3v9aBc' })
  prefix!: string;
  @ApiProperty({ enum: SCOPES, enumName: 'Scope', isArray: true })
  scopes!: Scope[];
  expiresAt!: Date;
  createdAt!: Date;
  /** When the key was last used, to the minute; null if never. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastUsedAt!: Date | null;
}

export class CreatedApiKeyResponse extends ApiKeyResponse {
  /** The key itself: shown this once, stored only as a hash. Send it as `Authorization: Bearer fin_…`. */
  @ApiProperty({ example: 'fin_Xq3v9aBc…' })
  key!: string;
}

export class ApiKeyListResponse {
  data!: ApiKeyResponse[];
  meta!: PageMeta;
}

export class ListApiKeysDto extends PageQueryDto {
  /** Whose keys (admins only); default: the caller's own. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  userId?: string;
}
