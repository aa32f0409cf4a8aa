import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';

/** Readiness turns 503 as soon as shutdown begins, so a load balancer stops sending traffic. */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private shuttingDown = false;

  constructor(private readonly indicator: HealthIndicatorService) {}

  /** Called on SIGTERM before the drain period (bootstrap.ts), and again by Nest on close. */
  begin(): void {
    this.shuttingDown = true;
  }

  beforeApplicationShutdown(): void {
    this.begin();
  }

  check() {
    const result = this.indicator.check('lifecycle');
    return this.shuttingDown ? result.down({ state: 'shutting down' }) : result.up();
  }
}
