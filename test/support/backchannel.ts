import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An app's back-channel logout endpoint: records the logout tokens it is sent.
 * It listens on loopback, which oidc-provider's guard on outgoing requests refuses unless
 * the host is listed in `privateNetworkHosts` (as an app on the company network would be).
 * Under jest the guard cannot install itself (it looks for undici's global dispatcher,
 * outside jest's sandbox); test/e2e checks the guard and the allowance in a real process.
 */
export interface BackchannelListener { url: string; tokens: string[]; next(): Promise<string>; close(): Promise<void> }

export async function startBackchannelListener(): Promise<BackchannelListener> {
  const tokens: string[] = [];
  const waiting: Array<(token: string) => void> = [];
  const http: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { body += chunk; });
    req.on('end', () => {
      const token = req.method === 'POST' ? new URLSearchParams(body).get('logout_token') : null;
      res.writeHead(token ? 200 : 400).end();
      if (!token) return;
      tokens.push(token);
      waiting.shift()?.(token);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  let seen = 0;
  return {
    url: `http://127.0.0.1:${port}/backchannel-logout`,
    tokens,
    next() {
      const ready = tokens[seen];
      if (ready) { seen++; return Promise.resolve(ready); }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no logout token arrived')), 5000);
        waiting.push((token) => { clearTimeout(timer); seen++; resolve(token); });
      });
    },
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}
