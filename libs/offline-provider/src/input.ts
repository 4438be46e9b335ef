/** Reading codex's requests: the items of `input` and the user's prompts among them. */
export type Item = Record<string, unknown>;

/** Prefixes of user messages that codex itself adds (context, aborted-turn notes, AGENTS.md, skills). */
const SYNTHETIC_USER = /^\s*(<[a-z_]+>|# AGENTS\.md)/i;

/** Text of a Responses-API message's content (strings or `input_text`/`output_text` parts). */
export function messageText(item: Item): string {
  const content = item.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => {
      const text = part && typeof part === 'object' ? (part as Item).text : undefined;
      return typeof text === 'string' ? text : '';
    })
    .join('');
}

/** The user prompts of a request, oldest first, without the messages codex adds itself. */
export function userPrompts(input: Item[]): string[] {
  return input
    .filter((i) => i.type === 'message' && i.role === 'user')
    .map(messageText)
    .filter((t) => !SYNTHETIC_USER.test(t));
}
