import { Logger } from '@nestjs/common';
import { isDatabaseUnavailable } from './pool-errors';

/** No database failure for this long closes an incident (docs/operations.md "High availability"). */
const QUIET_MS = 5_000;

interface Incident {
  since: number;
  failures: number;
  sources: Set<string>;
  timer?: NodeJS.Timeout;
}

/**
 * One log line when the database goes away and one when it has been quiet again for QUIET_MS,
 * instead of a line (or a stack) per failed request, job poll and listener retry: a failover
 * fails hundreds of requests with 503 in ten seconds, and the log should say so twice. Every
 * part of the app that meets an unavailable database (isDatabaseUnavailable) reports it here.
 */
export class DatabaseIncidents {
  private open?: Incident;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'log'> = new Logger('Database'),
    private readonly quietMs = QUIET_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** `source`: who met it (a request, the job queue, the user cache's listener); `cause`: what. */
  report(source: string, cause: string): void {
    if (!this.open) {
      this.open = { since: this.now(), failures: 0, sources: new Set() };
      this.logger.warn(
        `database unavailable (${source}: ${cause}); requests get 503 with Retry-After, ` +
          `logged once until it has been quiet for ${this.quietMs / 1000} s`,
      );
    }
    const incident = this.open;
    incident.failures++;
    incident.sources.add(source);
    clearTimeout(incident.timer);
    incident.timer = setTimeout(() => this.close(incident), this.quietMs);
    incident.timer.unref();
  }

  /** True while an incident is open (a failure within the last QUIET_MS). */
  get active(): boolean {
    return this.open !== undefined;
  }

  private close(incident: Incident): void {
    if (this.open !== incident) return;
    this.open = undefined;
    const seconds = (this.now() - incident.since - this.quietMs) / 1000;
    this.logger.log(
      `database available again: ${incident.failures} failures (${[...incident.sources].join(', ')}) ` +
        `over ${Math.max(0, seconds).toFixed(1)} s, none in the last ${this.quietMs / 1000} s`,
    );
  }
}

/** The process's one incident log, shared by the problem filter, the job queue and the user cache. */
export const databaseIncidents = new DatabaseIncidents();

/**
 * A background task's failure (a dispatcher round, a lease renewal, a prune): the database being
 * away joins its incident, anything else is the task's own warning.
 */
export function warnUnlessUnavailable(
  logger: Pick<Logger, 'warn'>,
  source: string,
  error: unknown,
  message: string,
): void {
  if (isDatabaseUnavailable(error)) databaseIncidents.report(source, String(error));
  else logger.warn(message);
}
