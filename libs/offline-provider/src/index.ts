/** The scripted Responses-API server (in-process use and tests). */
export { OfflineProvider, type OfflineProviderOptions, type RecordedRequest } from './offline-provider.server';
export { messageText, userPrompts } from './input';
/** The prompt script parser (`[[reply: ...]]`, `[[shell: ...]]`, ...). */
export { type Script, parseScript, readStamps, splitText, stampNow, wordsReply, SLOW_DEFAULTS } from './script';
