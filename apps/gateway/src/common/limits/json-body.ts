import type { NextFunction, Request, Response } from 'express';

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 64;

/** The nesting depth of a parsed JSON value, walked without recursion (so no input can overflow the stack). */
export function jsonDepth(value: unknown, stopAt = Infinity): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    const level = depth + 1;
    if (level > max) max = level;
    if (max > stopAt) return max;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, level]);
  }
  return max;
}

/**
 * Refuses JSON bodies nested deeper than {@link MAX_JSON_DEPTH} with 400 before anything walks them
 * recursively (validation and transformation do): such bodies are never legitimate requests.
 */
export function limitJsonDepth(req: Request, _res: Response, next: NextFunction): void {
  if (req.body && typeof req.body === 'object' && jsonDepth(req.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    next(Object.assign(new Error('JSON body nested too deeply'), { status: 400, type: 'entity.too.deep' }));
    return;
  }
  next();
}

/**
 * Refuses a request body that is not JSON with 415: Express parses only `application/json`, so any other
 * body (a form, text, `curl -d` without a Content-Type) would reach the route as no body at all — a
 * `thread/start` with defaults, a turn refused for a missing field — instead of being named as the fault.
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (hasBody && type !== 'application/json') {
    next(Object.assign(new Error('request body is not JSON'), { status: 415, type: 'entity.unsupported.type' }));
    return;
  }
  next();
}
