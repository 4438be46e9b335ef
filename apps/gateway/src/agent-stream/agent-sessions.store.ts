import { Injectable } from '@nestjs/common';
import { SessionThreadsStore } from '../common/storage/session-threads.store';

/** The codex thread of each agent-stream `sessionId` (`BASE_DATA_DIR/agent-sessions/<tenant>/`). */
@Injectable()
export class AgentSessionsStore extends SessionThreadsStore {
  protected readonly folder = 'agent-sessions';
}
