import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidatorOptions } from 'class-validator';
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

const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
};

export const validationPipe = new ValidationPipe({
  ...VALIDATOR_OPTIONS,
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  exceptionFactory: (errors) => validationProblem(flattenValidationErrors(errors)),
});

/**
 * The request pipe's rules applied to a plain object outside a request (CSV rows), so a row is
 * judged exactly like the same JSON body would be.
 */
export function validatePlain<T extends object>(
  cls: new () => T,
  plain: object,
): { value: T; errors: FieldIssue[] } {
  const value = plainToInstance(cls, plain, { enableImplicitConversion: false });
  return { value, errors: flattenValidationErrors(validateSync(value, VALIDATOR_OPTIONS)) };
}
