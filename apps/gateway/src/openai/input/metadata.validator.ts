import { registerDecorator, type ValidationArguments } from 'class-validator';

/** Why a metadata object breaks OpenAI's rules (at most 16 pairs, keys up to 64 characters, string values up to 512), or null. */
export function metadataProblem(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return 'metadata must be an object of string pairs';
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 16) return 'metadata may hold at most 16 pairs';
  for (const [key, item] of entries) {
    if (key.length > 64) return `metadata key '${key.slice(0, 64)}…' is longer than 64 characters`;
    if (typeof item !== 'string' || item.length > 512)
      return `metadata.${key} must be a string of at most 512 characters`;
  }
  return null;
}

/** OpenAI's `metadata`: up to 16 string pairs, keys up to 64 characters, values up to 512. */
export function IsMetadata(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isMetadata',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => metadataProblem(value) === null,
        defaultMessage: (args?: ValidationArguments) => metadataProblem(args?.value) ?? 'metadata is invalid',
      },
    });
}
