import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
} from 'class-validator';
import { CodePointLength, Trim } from '../../common/validators';
import { type Scope, SCOPES } from '../../common/permissions';

export class CreateApiKeyDto {
  /** What the key is for, e.g. "nightly bank import". 1-100 characters after trimming. */
  @Trim()
  @IsString()
  @CodePointLength(1, 100)
  name!: string;

  /** What the key may do, intersected with its owner's role at every request. */
  @ApiProperty({ enum: SCOPES, enumName: 'Scope', isArray: true, minItems: 1 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SCOPES.length)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes!: Scope[];

  /** When the key stops working: in the future, at most 365 days ahead. Default: 90 days from now. */
  @ApiProperty({ required: false, type: String, format: 'date-time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;
}
