import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
} from 'class-validator';
import { CodePointLength, IsZonedDateTime, Trim } from '../../common/validators';
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

  /**
   * When the key stops working: a date-time with its time zone (`Z` or an offset such as
   * `+01:00`; without one it is a 400), in the future, at most 365 days ahead. Default: 90 days
   * from now.
   */
  @ApiProperty({ required: false, type: String, format: 'date-time' })
  @IsOptional()
  @IsZonedDateTime()
  expiresAt?: string;
}
