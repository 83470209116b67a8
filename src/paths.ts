import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, where config/, migrations/ and views/ live. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
