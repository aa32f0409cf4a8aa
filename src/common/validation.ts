import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';
import type { FieldIssue } from './problem';

/** Flattens class-validator's tree into `[{ field, message }]`, one entry per broken rule. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldIssue[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

export function validationProblem(
  errors: FieldIssue[],
  detail = 'Validation failed',
): BadRequestException {
  return new BadRequestException({ message: detail, errors });
}

export const validationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => validationProblem(flattenValidationErrors(errors)),
});
