import { registerDecorator } from 'class-validator';

/**
 * A parameter of the OpenAI API that codex cannot honour: any value but `null` (or what `passes` allows,
 * such as the parameter's default) is refused with `message`, a 400 naming the parameter — not dropped,
 * which would give the client another answer than the one it asked for.
 */
export function Refused(message: string, passes: (value: unknown) => boolean = () => false): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'refused',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => value === undefined || value === null || passes(value),
        defaultMessage: () => message,
      },
    });
}
