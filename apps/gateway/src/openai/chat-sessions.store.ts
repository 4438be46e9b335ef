import { Injectable } from '@nestjs/common';
import { SessionThreadsStore } from '../common/storage/session-threads.store';

/** The codex thread of each Chat Completions `X-Codex-Session-Id` (`BASE_DATA_DIR/chat-sessions/<tenant>/`). */
@Injectable()
export class ChatSessionsStore extends SessionThreadsStore {
  protected readonly folder = 'chat-sessions';
}
