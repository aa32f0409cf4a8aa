/**
 * The dashboard's SQL: the product's own statements (src/dashboard/dashboard-statements.ts,
 * framework-free), so the dashboards' SQL cannot drift apart. Each comes in two forms, as in the
 * product's DashboardRepository.inReportingCurrency: `own` reads the reporting currency's rows
 * alone and says whether any other currency's are in range (`otherCurrencies`); routes.ts then
 * sends the `converted` form. Figures leave exact and unrounded, as text, in the reporting
 * currency (BASE_CURRENCY: the baseline takes no `currency=`); routes.ts rounds them as the
 * product's service does.
 */
import {
  categoriesStatement,
  OWN_FLAG,
  PERIOD,
  type Statement,
  summaryStatement,
  trendsStatement,
} from '../../src/dashboard/dashboard-statements';
import type { Interval } from '../../src/dashboard/dto/dashboard-query.dto';
import { type Bounds, type Conversion, convertedRollups, ownRollups, Params } from './sql';

export { type Interval, PERIOD };
export type Form = 'own' | 'converted';

function sql(statement: Statement, form: Form) {
  const params = new Params();
  const text =
    form === 'own'
      ? statement(params, ownRollups, OWN_FLAG)
      : statement(params, convertedRollups, '');
  return { text, values: params.values };
}

export const summarySql = (scope: string, bounds: Bounds, to: Conversion, form: Form) =>
  sql(summaryStatement(scope, bounds, to), form);

export const categoriesSql = (
  scope: string,
  bounds: Bounds,
  to: Conversion,
  type: string | undefined,
  form: Form,
) => sql(categoriesStatement(scope, bounds, to, type), form);

export const trendsSql = (
  scope: string,
  interval: Interval,
  bounds: Bounds,
  today: string,
  into: Conversion,
  form: Form,
) => sql(trendsStatement(scope, interval, bounds, today, into), form);
