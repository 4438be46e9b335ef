const TAGS = ['<answer>', '</answer>'];

/**
 * Removes `<answer>` / `</answer>` from streamed text (CODEX_STRIP_ANSWER_TAGS, for action-parsing
 * clients). A tag split across deltas is held back until it is complete or proven not to be one.
 */
export class AnswerTagStripper {
  private pending = '';

  push(delta: string): string {
    let text = this.pending + delta;
    for (const tag of TAGS) text = text.split(tag).join('');
    // Keep a tail that could still become a tag.
    const lt = text.lastIndexOf('<');
    if (lt !== -1 && TAGS.some((tag) => tag.startsWith(text.slice(lt)) && text.slice(lt) !== tag)) {
      this.pending = text.slice(lt);
      return text.slice(0, lt);
    }
    this.pending = '';
    return text;
  }

  /** Whatever was held back (it was not a tag after all). */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}

export function stripAnswerTags(text: string): string {
  const s = new AnswerTagStripper();
  return s.push(text) + s.flush();
}
