import { ApiProperty } from '@nestjs/swagger';
import { PageMeta } from '../../common/pagination';
import { ROLES, type Role } from '../../common/roles';
import type { User } from '../entities/user.entity';

export class UserResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  name!: string;
  /** An email address; `erased-<id>@invalid` for an erased user (docs/api.md section 17). */
  email!: string;
  @ApiProperty({ enum: ROLES, enumName: 'Role' })
  role!: Role;
  isActive!: boolean;
  createdAt!: Date;
  updatedAt!: Date;
}

export class UserListResponse {
  data!: UserResponse[];
  meta!: PageMeta;
}

/** The only way a user leaves the API: lists exactly the public fields, never the hash. */
export function toUserResponse(user: User): UserResponse {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    isActive: user.isActive,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}
