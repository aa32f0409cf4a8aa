import { Module } from '@nestjs/common';
import { TrashPurge } from './trash-purge.service';

/** Data lifecycle (docs/api.md section 17): the trash purge. */
@Module({ providers: [TrashPurge] })
export class LifecycleModule {}
