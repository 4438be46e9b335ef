import { Global, Module } from '@nestjs/common';
import { AgentStreamForwarder } from './agent-stream-forwarder';
import { ReplicaForwarder, ReplicaRouter } from './replica-router';
import { ReplicaSet } from './replica-set';

/** The replica set: who owns a tenant, and forwarding to the owner (HTTP and the HTTP/2 agent stream). */
@Global()
@Module({
  providers: [ReplicaSet, ReplicaRouter, ReplicaForwarder, AgentStreamForwarder],
  exports: [ReplicaSet, ReplicaRouter, ReplicaForwarder, AgentStreamForwarder],
})
export class ReplicasModule {}
