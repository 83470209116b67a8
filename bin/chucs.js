#!/usr/bin/env node
// The `chucs` operator CLI. Runs the TypeScript sources on Node 24+ (type stripping).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`chucs needs Node 24 or newer (this is ${process.version}). Run it as "npm run chucs -- …", which uses the project's own Node.`);
  process.exit(2);
}
await import('../src/cli/main.ts');
