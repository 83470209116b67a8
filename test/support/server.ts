import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/load.ts';
import { createChucs, type Chucs } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { generateSigningKeys, type PrivateJwks } from '../../src/oidc/keys.ts';
import type { NewClient } from '../../src/clients/clients.service.ts';
import { developmentOutbox } from '../../src/messaging/index.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

/** A clock the test moves by hand. */
export function testClock(start = new Date()) {
  let now = start.getTime();
  const clock = () => new Date(now);
  clock.advance = (seconds: number) => { now += seconds * 1000; };
  return clock;
}

export interface TestServer {
  url: string;
  chucs: Chucs;
  database: TestDatabase;
  jwks: PrivateJwks;
  addClient(client: Partial<NewClient>): Promise<{ clientId: string; clientSecret?: string }>;
  /** The newest code the development SMS or email provider "sent" to `to`. */
  lastCode(to: string): string;
  addUser(user: { phone?: string; email?: string; username?: string; password?: string }): Promise<string>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  config?: Record<string, unknown>;
  jwks?: PrivateJwks;
  database?: TestDatabase;
  /** The clock of codes and throttles (oidc-provider keeps real time). */
  clock?: () => Date;
}

/** A whole CHUCS on a fresh database, listening on a real loopback port. */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const database = opts.database ?? await createTestDatabase();
  const jwks = opts.jwks ?? { keys: await generateSigningKeys() };
  const config = loadConfig({}, {
    env: 'test',
    issuer: url,
    dataDir: '/nonexistent-test-data-dir',
    logLevel: 'silent',
    cookieKeys: [randomBytes(32).toString('base64url')],
    encryptionKey: randomBytes(32).toString('base64'),
    passwordFailureFloorMs: 0, // test/auth/password-login.test.ts pins the floor; pages need not wait for it
    ...opts.config,
  });
  const chucs = await createChucs(config, { db: database.db, jwks, clock: opts.clock, logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent') });
  server.on('request', chucs.app.callback());

  return {
    url, chucs, database, jwks,
    async addClient(client) {
      return chucs.clients.add({ name: 'Test app', redirectUris: ['http://127.0.0.1:9/cb'], ...client }, 'test');
    },
    lastCode(to) {
      const sender = developmentOutbox(to.includes('@') ? chucs.messaging.email : chucs.messaging.sms);
      const message = sender.latest(to);
      if (!message) throw new Error(`no message was sent to ${to}`);
      return message.code;
    },
    async addUser({ phone, email, username, password = 'correct horse battery staple' }) {
      const identifiers = [
        ...(phone ? [{ kind: 'phone' as const, value: phone, verified: true, source: 'test' }] : []),
        ...(email ? [{ kind: 'email' as const, value: email, verified: true, source: 'test' }] : []),
        ...(username ? [{ kind: 'username' as const, value: username, verified: true, source: 'test' }] : []),
      ];
      return (await chucs.identity.createAccount({ identifiers, password, actor: 'test', profile: { name: '测试用户', nickname: '小测' } })).id;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await chucs.close();
      if (!opts.database) await database.drop();
    },
  };
}
