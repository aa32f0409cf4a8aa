import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../common/decorators/public.decorator';
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
  ready() {
    return this.health.check([
      () => this.shutdown.check(),
      () => this.db.pingCheck('database', { timeout: 1500 }),
    ]);
  }
}
