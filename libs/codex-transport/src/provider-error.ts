/**
 * What a client may read of a failed model request: codex's words without the provider's URL, the
 * provider's own error message instead of its raw JSON body, and a refused credential said plainly (it is
 * the gateway's key, not the client's request, that the provider refused).
 */
export function providerErrorMessage(raw: string): string {
  let text = raw.replace(/,?\s*url:\s*\S+/gi, '').replace(/\bhttps?:\/\/[^\s,)"'\]]+/gi, '<provider>');
  const status = /\b(?:unexpected status|last status:?)\s+(\d{3})(?:\s+([A-Za-z][A-Za-z ]*[A-Za-z]))?/i.exec(text);
  if (status && (status[1] === '401' || status[1] === '403')) {
    return `the model provider refused the gateway's credentials (HTTP ${status[1]}${status[2] ? ` ${status[2]}` : ''})`;
  }
  const body = /\{[\s\S]*\}/.exec(text);
  if (body) {
    try {
      const parsed = JSON.parse(body[0]) as { error?: { message?: unknown } | string; message?: unknown };
      const message = typeof parsed.error === 'object' ? parsed.error?.message : (parsed.error ?? parsed.message);
      if (typeof message === 'string' && message) text = text.replace(body[0], message);
    } catch {
      // not JSON: keep the text
    }
  }
  return text.trim();
}
