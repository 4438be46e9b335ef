import { Global, Module } from '@nestjs/common';
import { DrainMiddleware, DrainService } from './drain.service';

/** The drain state every part of the gateway can consult. */
@Global()
@Module({ providers: [DrainService, DrainMiddleware], exports: [DrainService, DrainMiddleware] })
export class LifecycleModule {}
