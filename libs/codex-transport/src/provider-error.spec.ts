import { providerErrorMessage } from './provider-error';

describe('providerErrorMessage', () => {
  it('says plainly that the provider refused the gateway’s credentials, without its URL', () => {
    for (const [raw, status] of [
      [
        'unexpected status 401 Unauthorized: invalid api key, url: http://10.0.0.7:4000/v1/responses',
        '401 Unauthorized',
      ],
      ['unexpected status 403 Forbidden: no access, url: https://internal.example/v1/responses', '403 Forbidden'],
    ]) {
      const message = providerErrorMessage(raw);
      expect(message).toBe(`the model provider refused the gateway's credentials (HTTP ${status})`);
    }
  });

  it('takes the provider’s message out of its JSON body and drops every URL', () => {
    expect(providerErrorMessage('{"error":{"message":"context too long","type":"invalid_request_error"}}')).toBe(
      'context too long',
    );
    expect(
      providerErrorMessage(
        'unexpected status 500 Internal Server Error: upstream broke, url: http://127.0.0.1:9/v1/responses',
      ),
    ).toBe('unexpected status 500 Internal Server Error: upstream broke');
    expect(
      providerErrorMessage('stream disconnected: error sending request for url (http://10.1.2.3:8080/v1/responses)'),
    ).not.toMatch(/10\.1\.2\.3/);
    expect(providerErrorMessage('Reconnecting... 1/5')).toBe('Reconnecting... 1/5');
  });
});
