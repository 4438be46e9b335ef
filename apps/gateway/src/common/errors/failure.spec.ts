import { BadRequestException } from '@nestjs/common';
import { CodexErrorCode, CodexTransportError } from '@app/codex-transport';
import { openAiError } from '../filters/openai-error.filter';
import { httpErrorBody } from '../filters/http-error.filter';
import { describeFailure } from './failure';
import { GatewayError, invalidRequest, notFound, promptTooLong, TurnFailedError, unavailable } from './gateway-error';

describe('describeFailure: one table from errors to what every wire sends', () => {
  it('gateway errors keep their status, message, field and code', () => {
    expect(describeFailure(invalidRequest('input must not be empty', 'input'))).toMatchObject({
      status: 400,
      message: 'input must not be empty',
      param: 'input',
      code: null,
      unexpected: false,
    });
    expect(describeFailure(notFound('no such thread')).status).toBe(404);
    expect(describeFailure(unavailable('identity provider down')).status).toBe(503);
    expect(describeFailure(promptTooLong(10, 5, 'messages'))).toMatchObject({
      status: 400,
      param: 'messages',
      code: 'CONTEXT_LENGTH_EXCEEDED',
    });
  });

  it('transport errors take the transport table: status, Retry-After, code; internal detail stays out', () => {
    expect(describeFailure(new CodexTransportError(CodexErrorCode.THREAD_BUSY, 'thread t busy'))).toMatchObject({
      status: 409,
      code: 'THREAD_BUSY',
    });
    expect(describeFailure(new CodexTransportError(CodexErrorCode.POOL_FULL, 'full'))).toMatchObject({
      status: 503,
      retryAfter: 5,
    });
    const rpc = describeFailure(new CodexTransportError(CodexErrorCode.RPC_ERROR, 'stack at /srv/secret'));
    expect(rpc).toMatchObject({ status: 502, message: 'codex rejected the request' });
  });

  it('a failed turn keeps what the answer says about it', () => {
    const failure = describeFailure(
      new TurnFailedError({ code: CodexErrorCode.TURN_TIMEOUT, message: 'too slow' }, { thread_id: 't' }),
    );
    expect(failure).toMatchObject({ status: 504, code: 'TURN_TIMEOUT', turn: { thread_id: 't' } });
  });

  it('Nest exceptions keep their status; anything unknown is a 500 marked unexpected', () => {
    expect(describeFailure(new BadRequestException(['a must be x', 'b must be y']))).toMatchObject({
      status: 400,
      message: 'a must be x; b must be y',
    });
    expect(describeFailure(new Error('ENOENT /srv/data'))).toMatchObject({
      status: 500,
      message: 'Internal server error',
      unexpected: true,
    });
  });

  it('each wire builds its own shape from the same description', () => {
    const tooLong = describeFailure(promptTooLong(10, 5, 'input'));
    expect(openAiError(tooLong, 'req-1').error).toMatchObject({
      type: 'invalid_request_error',
      param: 'input',
      code: 'context_length_exceeded',
    });
    const validation = describeFailure(
      new GatewayError('invalid_request', 'a; b', { param: 'a', problems: ['a', 'b'] }),
    );
    expect(httpErrorBody(validation, 'req-2')).toEqual({ statusCode: 400, message: ['a', 'b'], error: 'Bad Request' });
    const unknown = describeFailure(new Error('secret detail'));
    expect(httpErrorBody(unknown, 'req-3')).toMatchObject({ statusCode: 500, correlationId: 'req-3' });
    expect(JSON.stringify(openAiError(unknown, 'req-3'))).not.toContain('secret detail');
  });
});
