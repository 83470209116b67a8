import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiver got it. */
export interface Received { headers: IncomingHttpHeaders; body: string; payload: { id: string; type: string; occurred_at: string; account_id: string | null; data: Record<string, unknown> }; status: number }

/**
 * A downstream system's webhook endpoint on a loopback port: records every request and
 * answers what `answer` says (200 unless told otherwise).
 */
export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** The status to answer a request with; called before the answer is sent. */
  answer: (r: Omit<Received, 'status'>) => number | Promise<number>;
  /** Requests answered 2xx, in the order they were answered. */
  accepted(): Received[];
  /** Waits (bounded) until `check` holds for what was received. */
  waitFor(check: (received: Received[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const receiver: WebhookReceiver = {
    url: '',
    received,
    answer: () => 200,
    accepted: () => received.filter((r) => r.status >= 200 && r.status < 300),
    async waitFor(check, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(received)) {
        if (Date.now() > deadline) throw new Error(`webhook receiver: timed out waiting for ${what}; got ${received.map((r) => `${r.payload.type}(${r.status})`).join(', ') || 'nothing'}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const request = { headers: req.headers, body, payload: JSON.parse(body) };
    const status = await receiver.answer(request);
    received.push({ ...request, status });
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/chucs`;
  return receiver;
}
