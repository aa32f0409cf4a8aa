import { type DynamicModule, Global, Module } from '@nestjs/common';
import { JobQueue, type QueueSettings } from './job-queue';

@Global()
@Module({})
export class JobsModule {
  static forRoot(settings: QueueSettings): DynamicModule {
    return {
      module: JobsModule,
      providers: [{ provide: JobQueue, useValue: new JobQueue(settings) }],
      exports: [JobQueue],
    };
  }
}
