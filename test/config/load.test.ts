import { loadConfig, assertServable, ConfigError, describeConfig } from '../../src/config/load.ts';

test('defaults give a working development configuration', () => {
  const config = loadConfig({});
  expect(config).toMatchObject({ env: 'development', port: 3000, issuer: 'http://localhost:3000', dataDir: './data' });
  expect(config.argon2).toEqual({ memoryKib: 19456, timeCost: 2, parallelism: 1 });
  expect(Object.isFrozen(config.argon2)).toBe(true);
});

test('environment variables override the defaults', () => {
  const config = loadConfig({ PORT: '8080', ISSUER: 'https://id.changhong.com', TRUST_PROXY: 'true', DATABASE_URL: 'postgres://u@db/chucs' });
  expect(config).toMatchObject({ port: 8080, issuer: 'https://id.changhong.com', trustProxy: true, databaseUrl: 'postgres://u@db/chucs' });
});

test.each([
  [{ PORT: 'eighty' }, /port: /],
  [{ ISSUER: 'ftp://x' }, /issuer: /],
  [{ ISSUER: 'https://id.example.com/' }, /issuer: must not end with "\/"/],
  [{ DATABASE_URL: 'mysql://x' }, /databaseUrl: must start with postgres:\/\//],
  [{ CHUCS_ENCRYPTION_KEY: 'short' }, /encryptionKey: must be 32 bytes/],
  [{ LOG_LEVEL: 'loud' }, /logLevel: /],
  [{ CHUCS_CONFIG: '/nonexistent.json' }, /CHUCS_CONFIG: file not found/],
])('a bad setting fails at start naming the key: %o', (env, message) => {
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(message);
});

test('production insists on https, behind a trusted TLS proxy', () => {
  expect(() => loadConfig({ NODE_ENV: 'production', ISSUER: 'http://id.example.com' })).toThrow(/https/);
  // Serving, behind the TLS proxy it needs: otherwise cookies lose Secure and every client is
  // the proxy. The CLI (migrate, keys rotate in the image) does not serve and need not say so.
  const production = { ...loadConfig({}), env: 'production' as const };
  expect(() => assertServable(production)).toThrow(/trustProxy: must be true in production/);
  expect(() => assertServable({ ...production, trustProxy: true })).not.toThrow();
});

test('secrets are redacted when the configuration is logged', () => {
  const config = loadConfig({ DATABASE_URL: 'postgres://u:hunter2@db/chucs', CHUCS_COOKIE_KEYS: 'k'.repeat(40) });
  const shown = JSON.stringify(describeConfig(config));
  expect(shown).not.toContain('hunter2');
  expect(shown).not.toContain('k'.repeat(40));
});

test('an upstream secret comes from CHUCS_UPSTREAM_<ID>_SECRET and is redacted when logged', () => {
  const overrides = { upstreams: [{ kind: 'wechat', id: 'wechat-web', clientId: 'wx1234' }] };
  const config = loadConfig({ CHUCS_UPSTREAM_WECHAT_WEB_SECRET: 's3cret-app-secret' }, overrides);
  expect(config.upstreams[0]).toMatchObject({ id: 'wechat-web', clientSecret: 's3cret-app-secret', trustVerifiedEmail: false });
  expect(JSON.stringify(describeConfig(config))).not.toContain('s3cret-app-secret');
});

test('an upstream endpoint that would carry the app secret over plain http elsewhere is refused', () => {
  const upstream = { kind: 'qq', id: 'qq', clientId: '101', clientSecret: 'k'.repeat(20), endpoints: { token: 'http://proxy.example.com/oauth2.0/token' } };
  expect(() => loadConfig({}, { upstreams: [upstream] })).toThrow(/upstreams.0.endpoints.token: must be https/);
  expect(loadConfig({}, { upstreams: [{ ...upstream, endpoints: { token: 'http://127.0.0.1:8080/oauth2.0/token' } }] }).upstreams).toHaveLength(1);
});

test('webhooks: an HMAC secret from CHUCS_WEBHOOK_<ID>_SECRET, redacted when logged; plain http only to this machine or a named host; known event types only', () => {
  const secret = 's'.repeat(40);
  const crm = { id: 'crm-east', url: 'https://crm.example/hooks', signing: 'hmac' };
  const config = loadConfig({ CHUCS_WEBHOOK_CRM_EAST_SECRET: secret }, { webhooks: [crm] });
  expect(config.webhooks[0]).toMatchObject({ id: 'crm-east', signing: 'hmac', secret });
  expect(JSON.stringify(describeConfig(config))).not.toContain(secret);
  expect(() => loadConfig({}, { webhooks: [crm] })).toThrow(/webhooks\.0\.secret/);
  expect(() => loadConfig({}, { webhooks: [{ id: 'dw', url: 'http://dw.example/hooks', signing: 'jws' }] })).toThrow(/webhooks\.0\.url: must be https/);
  expect(loadConfig({}, { webhooks: [{ id: 'dw', url: 'http://dw.corp/hooks', signing: 'jws' }], privateNetworkHosts: ['*.corp'] }).webhooks).toHaveLength(1);
  expect(loadConfig({}, { webhooks: [{ id: 'dw', url: 'http://127.0.0.1:9/hooks', signing: 'jws' }] }).webhooks).toHaveLength(1);
  expect(() => loadConfig({}, { webhooks: [{ id: 'dw', url: 'https://dw.example/hooks', signing: 'jws', events: ['account.renamed'] }] })).toThrow(/webhooks\.0\.events\.0/);
});
