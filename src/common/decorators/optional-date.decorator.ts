import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsCalendarDate } from '../validators';

/** An optional `YYYY-MM-DD` query parameter: a real calendar date, documented as `format: date`. */
export const OptionalDate = () =>
  applyDecorators(ApiProperty({ required: false, format: 'date' }), IsOptional(), IsCalendarDate());
