import { randomBytes } from 'node:crypto';
import { createClientsService } from '../../src/clients/clients.service.ts';
import { createSecretBox } from '../../src/crypto/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
beforeAll(async () => { database = await createTestDatabase(); });
afterAll(() => database.drop());

test("a node serves an app's settings from memory for the configured seconds, then reads them again", async () => {
  let now = 1_000_000;
  const service = (cacheSeconds: number) => createClientsService({
    db: database.db, secretBox: createSecretBox(randomBytes(32).toString('base64')), validate: async () => {}, cacheSeconds, clock: () => now,
  });
  const node = service(10);
  const { clientId } = await node.add({ name: '旧名字', redirectUris: ['https://app.example.com/cb'] }, 'test');
  expect((await node.providerMetadata(clientId))?.client_name).toBe('旧名字');

  // Another node (or the CLI) renames it in the database.
  await database.db('clients').where({ client_id: clientId }).update({ metadata: database.db.raw(`jsonb_set(metadata, '{client_name}', '"新名字"')`) });
  now += 9_000;
  expect((await node.providerMetadata(clientId))?.client_name).toBe('旧名字');
  now += 2_000;
  expect((await node.providerMetadata(clientId))?.client_name).toBe('新名字');

  // Removed on this node: gone at once here.
  await node.remove(clientId, 'test');
  expect(await node.providerMetadata(clientId)).toBeUndefined();
});

