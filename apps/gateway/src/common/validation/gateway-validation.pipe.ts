import { ValidationPipe } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import { GatewayError } from '../errors/gateway-error';

/**
 * Nest's ValidationPipe (whitelist, transform), refusing with the gateway's own invalid-request error: the
 * messages as Nest words them, and the first field at fault as the error's `param` (OpenAI clients read it).
 */
export class GatewayValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      transform: true,
      // Protocol clients send fields we do not model (OpenAI SDKs especially); they are dropped, not refused.
      forbidNonWhitelisted: false,
      stopAtFirstError: false,
    });
  }

  override createExceptionFactory() {
    return (errors: ValidationError[] = []) => {
      const problems = this.flattenValidationErrors(errors);
      return new GatewayError('invalid_request', problems.join('; '), { param: errors[0]?.property, problems });
    };
  }
}
