import { Module } from '@nestjs/common';
import { ChatController } from './chat.controller';
import { ChatService } from './chat.service';

/** The simple chat API: `/chat`, `/threads`, `/history`, `/status`. */
@Module({ controllers: [ChatController], providers: [ChatService] })
export class ChatModule {}
