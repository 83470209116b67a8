#!/usr/bin/env -S node --max-semi-space-size=32 --max-old-space-size=384
// The `chucs` operator CLI. Runs the TypeScript sources on Node 24.16+ (type stripping; crypto.randomUUIDv7).
// The heap is capped so that an import or merge of any size runs in bounded memory.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 24 || (major === 24 && minor < 16)) {
  console.error(`chucs needs Node 24.16 or newer (this is ${process.version}). Run it as "npm run chucs -- …", which uses the project's own Node.`);
  process.exit(2);
}
await import('../src/cli/main.ts');
