import { Transform } from 'class-transformer';
import { isISO8601, ValidateBy, ValidateIf, type ValidationOptions } from 'class-validator';
import { isCalendarDate, MAX_DATE, MIN_DATE } from './dates';
import {
  baseCurrencyForValidation,
  isCurrencyCode,
  minorUnits,
  minorUnitsRule,
} from './currencies';
import { fitsMinorUnits, isPositiveMoney, parseMoney } from './money';
import { PASSWORD_RULE, passwordFits } from './password-rule';
import { currentRequest } from './request-context';

/** Length in Unicode code points (an emoji counts once), as the contract measures it. */
export const CodePointLength = (min: number, max: number, options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'codePointLength',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && [...value].length >= min && [...value].length <= max,
        defaultMessage: (args) => `${args?.property} must be ${min}-${max} characters long`,
      },
    },
    options,
  );

/** A date, a time and a zone: `Z` or an offset (`+01:00`, `-0530`); seconds and fractions optional. */
const ZONED_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * An instant: an ISO 8601 date-time that names its time zone. Without one (`2026-12-31T23:59:59`)
 * the moment would depend on the server's zone; a bare date or week date names no instant either.
 */
export const IsZonedDateTime = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isZonedDateTime',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          ZONED_DATE_TIME.test(value) &&
          isISO8601(value, { strict: true }) &&
          !Number.isNaN(Date.parse(value)),
        defaultMessage: (args) =>
          `${args?.property} must be a date-time with a time zone, such as 2026-12-31T23:59:59Z or 2026-12-31T23:59:59+01:00`,
      },
    },
    options,
  );

/** The password rule (see password-rule.ts). */
export const PasswordBytes = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'passwordBytes',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && passwordFits(value),
        defaultMessage: (args) => `${args?.property} must be ${PASSWORD_RULE}`,
      },
    },
    options,
  );

/**
 * For PATCH fields: "may be left out", not "may be null". `@IsOptional()` also skips validation
 * for `null`, which then reaches the database as a NOT NULL violation (a 500); this keeps `null`
 * under the field's rules, so it is a 400.
 */
export const Omittable = (options?: ValidationOptions) =>
  ValidateIf((_object: object, value: unknown) => value !== undefined, options);

/**
 * Required from a signed-in session; may be left out with an API key (a field a key may not send
 * at all, such as a new user's password: the service refuses it with 403 when it is sent). Judged
 * with the other fields, so a session's 400 still names every offending field.
 */
export const RequiredUnlessApiKey = (options?: ValidationOptions) =>
  ValidateIf(
    (_object: object, value: unknown) =>
      value !== undefined || currentRequest()?.apiKeyId === undefined,
    options,
  );

export const Trim = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

export const TrimLower = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  );

/** Query booleans arrive as strings; only `true`/`false` are accepted. */
export const QueryBoolean = () =>
  Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  );

/** Query integers arrive as strings; a non-integer stays a string so @IsInt reports it. */
export const QueryInt = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value,
  );

/** Escapes LIKE wildcards so a user's `%` or `_` matches itself. */
export function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Money input: a decimal string (`"12.50"`) or a JSON number, up to 12 digits and 3 decimals,
 * above zero (`signed`: any sign, zero included). Whether the decimals fit the currency is the
 * service's check, once it knows the currency (it may come from the account).
 */
export const IsMoney = (options?: ValidationOptions & { allowZero?: boolean; signed?: boolean }) =>
  ValidateBy(
    {
      name: 'isMoney',
      validator: {
        validate: (value: unknown) => {
          const text = parseMoney(value, options?.signed);
          if (text === undefined) return false;
          return options?.allowZero === true || options?.signed === true || isPositiveMoney(text);
        },
        defaultMessage: (args) =>
          options?.signed
            ? `${args?.property} must be a decimal string like "-12.50" (up to 12 digits and the currency's decimals)`
            : `${args?.property} must be a decimal string like "12.50" (up to 12 digits and the currency's decimals) greater than zero`,
      },
    },
    options,
  );

/**
 * An amount within the minor units of the valid `currency` sent beside it (`"100.5"` JPY is
 * refused), judged with the other fields so that one 400 names every offending field. With
 * `orBase` (a new row), a body that names neither currency nor account is judged by the base
 * currency it will be in. Otherwise, with no currency sent, the service judges the amount once
 * it knows the currency (the account's or the stored row's).
 */
export const FitsCurrencySent = (options?: ValidationOptions & { orBase?: boolean }) =>
  ValidateBy(
    {
      name: 'fitsCurrencySent',
      validator: {
        validate: (value: unknown, args) => {
          const currency = currencyOf(args?.object, options?.orBase === true);
          const text = parseMoney(value);
          // No currency to judge by, or not money at all (IsMoney says so).
          if (currency === undefined || text === undefined) return true;
          return fitsMinorUnits(text, minorUnits(currency));
        },
        defaultMessage: (args) => {
          const currency = currencyOf(args?.object, options?.orBase === true) ?? '';
          return `${args?.property}: ${minorUnitsRule(currency)}`;
        },
      },
    },
    options,
  );

/** The currency an amount will be in, when the body alone tells (see FitsCurrencySent). */
export function currencyOf(object: object | undefined, orBase: boolean): string | undefined {
  const { currency, accountId } = (object ?? {}) as { currency?: unknown; accountId?: unknown };
  if (isCurrencyCode(currency)) return currency;
  if (!orBase || currency !== undefined) return undefined;
  return accountId === undefined || accountId === null ? baseCurrencyForValidation() : undefined;
}

/** An ISO 4217 code in upper case that amounts can be kept in (common/currencies.ts). */
export const IsCurrencyCode = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isCurrency',
      validator: {
        validate: (value: unknown) => isCurrencyCode(value),
        defaultMessage: (args) =>
          `${args?.property} must be an upper-case ISO 4217 currency code such as USD (see GET /currencies)`,
      },
    },
    options,
  );

/**
 * Normalises an accepted JSON number to its decimal string, so nothing downstream sees a float
 * (`signed`: a negative one too, as an opening balance may be).
 */
export const MoneyString = (signed = false) =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'number' ? (parseMoney(value, signed) ?? value) : value,
  );

export const IsCalendarDate = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isCalendarDate',
      validator: {
        validate: (value: unknown) => isCalendarDate(value),
        defaultMessage: (args) =>
          `${args?.property} must be a real date YYYY-MM-DD between ${MIN_DATE} and ${MAX_DATE}`,
      },
    },
    options,
  );
