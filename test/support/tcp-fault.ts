import { createServer, connect, type Socket, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on a loopback port in front of a real server, to inject the faults a database
 * has in production:
 *
 * | mode          | open connections                      | new connections                      |
 * |---------------|---------------------------------------|--------------------------------------|
 * | up            | forwarded                             | forwarded                            |
 * | killed        | reset (RST), like a crashed server    | reset at once, like a refused port   |
 * | partitioned   | silent: bytes held, nothing answers   | accepted, then silent                |
 *
 * Back to `up`, a partition heals as a network does: held bytes go through in order and the
 * held connections reach the server (unless their client gave up meanwhile).
 */
export interface TcpFault {
  port: number;
  mode: 'up' | 'killed' | 'partitioned';
  kill(): void;
  partition(): void;
  /**
   * Back to `up`. `forgetOpen`: the connections open during the fault stay silent for good,
   * as after a failover or a firewall that lost its state; only new ones get through.
   */
  restore(opts?: { forgetOpen?: boolean }): void;
  close(): Promise<void>;
}

interface Pair { client: Socket; upstream?: Socket; toUpstream: Buffer[]; toClient: Buffer[]; forgotten?: boolean }

export async function startTcpFault(target: { host: string; port: number }): Promise<TcpFault> {
  const pairs = new Set<Pair>();
  let mode: TcpFault['mode'] = 'up';

  const drop = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  };

  const flush = (pair: Pair) => {
    if (pair.client.destroyed) return drop(pair);
    if (!pair.upstream) {
      const upstream = connect(target.port, target.host);
      pair.upstream = upstream;
      upstream.on('data', (chunk) => { if (pair.forgotten) return; if (mode === 'partitioned') pair.toClient.push(chunk); else pair.client.write(chunk); });
      upstream.on('error', () => drop(pair));
      upstream.on('close', () => drop(pair));
    }
    for (const chunk of pair.toUpstream.splice(0)) pair.upstream.write(chunk);
    for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk);
  };

  const server: Server = createServer((client) => {
    if (mode === 'killed') {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, toUpstream: [], toClient: [] };
    pairs.add(pair);
    client.on('data', (chunk) => {
      if (pair.forgotten) return;
      if (mode === 'partitioned' || !pair.upstream) pair.toUpstream.push(chunk);
      else pair.upstream.write(chunk);
    });
    client.on('error', () => drop(pair));
    client.on('close', () => drop(pair));
    if (mode === 'up') flush(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as AddressInfo).port,
    get mode() { return mode; },
    kill() {
      mode = 'killed';
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.client.resetAndDestroy();
        pair.upstream?.destroy();
      }
    },
    partition() {
      mode = 'partitioned';
    },
    restore({ forgetOpen = false } = {}) {
      mode = 'up';
      for (const pair of [...pairs]) {
        if (forgetOpen) Object.assign(pair, { forgotten: true, toUpstream: [], toClient: [] });
        else flush(pair);
      }
    },
    async close() {
      for (const pair of [...pairs]) drop(pair);
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
