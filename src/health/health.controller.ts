import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../common/decorators/public.decorator';
import { databaseIncidents } from '../common/filters/database-incidents';
import { ProbeUnavailableException } from '../common/filters/problem-details.filter';
import { AcceptsAnyQuery } from '../common/validation';
import { ShutdownState } from './shutdown-state';

@ApiExcludeController()
@Public()
// A probe's query string (a cache-buster, say) must never make the instance look down.
@AcceptsAnyQuery()
@SkipThrottle({ default: true, login: true, loginIp: true })
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly shutdown: ShutdownState,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** The database answers and the app is not shutting down. */
  @Get('ready')
  @HealthCheck()
  async ready() {
    try {
      return await this.health.check([
        () => this.shutdown.check(),
        () => this.db.pingCheck('database', { timeout: 1500 }),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      // Not ready while no primary answers (a failover); back to 200 by itself once one does.
      const database = (error.getResponse() as { error?: { database?: { message?: string } } })
        .error?.database;
      if (database) databaseIncidents.report('readiness probe', database.message ?? 'no answer');
      throw new ProbeUnavailableException({
        ...(error.getResponse() as object),
        headers: { 'Retry-After': '1' },
      });
    }
  }
}
