/** The scripted Responses-API server (in-process use and tests). */
export {
  OfflineProvider,
  type OfflineProviderOptions,
  type RecordedRequest,
  messageText,
  userPrompts,
} from './offline-provider.server';
/** The prompt script parser (`[[reply: ...]]`, `[[shell: ...]]`, ...). */
export { type Script, parseScript, splitText, wordsReply, SLOW_DEFAULTS } from './script';
