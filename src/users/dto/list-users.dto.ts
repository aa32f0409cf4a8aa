import { IsBoolean, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { QueryBoolean } from '../../common/validators';
import { ROLES, type Role } from '../../common/roles';

export class ListUsersDto extends PageQueryDto {
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @IsOptional()
  @QueryBoolean()
  @IsBoolean()
  isActive?: boolean;

  /** Case-insensitive substring of name or email (for auditors, who see emails masked: of the name only). */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  q?: string;
}
