import { Module } from '@nestjs/common';
import { WorkspacePolicy } from './workspace-policy';

@Module({ providers: [WorkspacePolicy], exports: [WorkspacePolicy] })
export class WorkspaceModule {}
