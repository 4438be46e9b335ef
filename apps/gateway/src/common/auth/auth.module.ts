import { Global, Module } from '@nestjs/common';
import { Authenticator } from './authenticator';

/** The one {@link Authenticator} every listener uses. */
@Global()
@Module({ providers: [Authenticator], exports: [Authenticator] })
export class AuthModule {}
