import { type ArgumentMetadata, type PipeTransform, ValidationPipe } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import { GatewayError } from '../errors/gateway-error';

const ACCEPTS_UNKNOWN_FIELDS = Symbol('acceptsUnknownFields');

/**
 * Marks a request body whose clients send fields the gateway does not model (OpenAI SDKs and agent
 * frameworks send new and optional ones freely): those are dropped. Every other body refuses a field it
 * does not know (a typo such as `cwdd` would otherwise start a thread with the default cwd).
 */
export function AcceptsUnknownFields(): ClassDecorator {
  return (target) => Reflect.defineMetadata(ACCEPTS_UNKNOWN_FIELDS, true, target);
}

/** Nest's ValidationPipe (whitelist, transform), refusing with the gateway's own invalid-request error. */
class RefusingValidationPipe extends ValidationPipe {
  constructor(forbidUnknown: boolean) {
    super({ whitelist: true, transform: true, forbidNonWhitelisted: forbidUnknown, stopAtFirstError: false });
  }

  /** The messages as Nest words them, and the first field at fault as the error's `param` (OpenAI clients read it). */
  override createExceptionFactory() {
    return (errors: ValidationError[] = []) => {
      const problems = this.flattenValidationErrors(errors);
      return new GatewayError('invalid_request', problems.join('; '), { param: errors[0]?.property, problems });
    };
  }
}

/**
 * Validates and transforms every DTO: bodies refuse unknown fields unless their class is marked
 * {@link AcceptsUnknownFields}; queries and path parameters drop them.
 */
export class GatewayValidationPipe implements PipeTransform {
  private readonly strict = new RefusingValidationPipe(true);
  private readonly lenient = new RefusingValidationPipe(false);

  transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const lenient =
      metadata.type !== 'body' ||
      (metadata.metatype !== undefined && Reflect.getMetadata(ACCEPTS_UNKNOWN_FIELDS, metadata.metatype) === true);
    return (lenient ? this.lenient : this.strict).transform(value, metadata) as Promise<unknown>;
  }
}
