import { GatewayLogger } from './gateway-logger';

function capture(format: 'json' | 'pretty', level: 'log' | 'debug' = 'log', secrets: string[] = []) {
  const lines: string[] = [];
  const logger = new GatewayLogger(level, secrets, format, (line) => lines.push(line));
  return { logger, lines };
}

describe('GatewayLogger', () => {
  it('json: one object per line with its fields', () => {
    const { logger, lines } = capture('json');
    logger.log({ msg: 'turn', tenant: 'alice', status: 'completed', token: 'hidden' }, 'Turns');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({ level: 'info', context: 'Turns', msg: 'turn', tenant: 'alice', status: 'completed' });
    expect(entry.token).toBeUndefined();
    expect(typeof entry.pid).toBe('number');
  });

  it('pretty: one short line a person can read, fields as key=value', () => {
    const { logger, lines } = capture('pretty');
    logger.warn('provider is slow', 'CodexTransport');
    logger.log({ msg: 'request', method: 'POST', status: 200, tenant: 'alice' }, 'Http');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}\[CodexTransport\] provider is slow\n$/);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[Http\] request method=POST status=200 tenant=alice\n$/);
    expect(lines.join('')).not.toContain('{');
  });

  it("Nest's start-up lines are debug", () => {
    for (const format of ['json', 'pretty'] as const) {
      const info = capture(format);
      info.logger.log('AppModule dependencies initialized', 'InstanceLoader');
      info.logger.log('Mapped {/health, GET} route', 'RouterExplorer');
      info.logger.log('Codex Gateway listening', 'Bootstrap');
      expect(info.lines).toHaveLength(1);
      expect(info.lines[0]).toContain('listening');
      const debug = capture(format, 'debug');
      debug.logger.log('AppModule dependencies initialized', 'InstanceLoader');
      expect(debug.lines).toHaveLength(1);
    }
  });

  it('replaces configured secrets and bearer credentials in both formats', () => {
    for (const format of ['json', 'pretty'] as const) {
      const { logger, lines } = capture(format, 'log', ['sk-provider-"key"']);
      logger.error('provider refused sk-provider-"key" with Authorization: Bearer abc.def.ghi', 'CodexTransport');
      expect(lines[0]).not.toContain('sk-provider');
      expect(lines[0]).not.toContain('abc.def.ghi');
      expect(lines[0]).toContain('[REDACTED]');
    }
  });
});
