import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP forwarder on loopback standing in for an endpoint whose target can change, like the DNS
 * name of an ElastiCache primary endpoint. Hand-written on `node:net` because the faults it must
 * play are not what a proxy library offers:
 * - `retarget`: new connections go to another server, and open ones stay where they are (a DNS
 *   change does not touch established connections);
 * - `blackhole`: every open connection, and every new one, stops forwarding in both directions
 *   without being closed: a half-open path, as when a primary's host vanishes under its sockets;
 * - `intercept`: a test holds back what a client sends (a command, a handshake) and lets it through
 *   when it chooses.
 */
export interface TcpProxy {
  /** `redis://127.0.0.1:<port>`: what the nodes get as REDIS_URL. */
  url: string;
  port: number;
  /** The loopback port new connections are forwarded to. */
  readonly targetPort: number;
  retarget(port: number): void;
  blackhole(): void;
  /** New connections are forwarded again. Black-holed ones stay dead: their peer is gone for good. */
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
  /** Black-holed: nothing passes any more, and nothing closes the client's side either. */
  dead: boolean;
}

export interface TcpProxyOptions {
  /**
   * Sees each chunk a client sends and passes it on when it calls `forward`: at once, later, or
   * never. Without it, everything is forwarded as it comes.
   */
  intercept?: (chunk: Buffer, forward: () => void) => void;
}

export async function startTcpProxy(targetPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  let target = targetPort;
  let blackholed = false;
  const pairs = new Set<Pair>();

  // Reads and drops whatever arrives. With allowHalfOpen, nothing ends the socket by itself.
  const silence = (socket: Socket) => {
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
  };
  const drop = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  };

  const server = createServer({ allowHalfOpen: true }, (client) => {
    const pair: Pair = { client, dead: blackholed };
    pairs.add(pair);
    client.on('error', () => drop(pair));
    client.on('close', () => drop(pair));
    if (pair.dead) {
      silence(client);
      return;
    }
    const upstream = tcpConnect({ host: '127.0.0.1', port: target, allowHalfOpen: true });
    pair.upstream = upstream;
    upstream.on('error', () => {
      if (!pair.dead) drop(pair);
    });
    // A dead pair outlives its upstream: the client must not learn of it.
    upstream.on('close', () => {
      if (!pair.dead) drop(pair);
    });
    // Ends (FIN) pass through while forwarding, so that a server closing a connection closes it.
    const { intercept } = options;
    if (intercept) {
      client.on('data', (chunk: Buffer) => intercept(chunk, () => upstream.write(chunk)));
      client.on('end', () => upstream.end());
    } else {
      client.pipe(upstream);
    }
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get targetPort() {
      return target;
    },
    retarget(next) {
      target = next;
    },
    blackhole() {
      blackholed = true;
      for (const pair of pairs) {
        pair.dead = true;
        pair.client.unpipe();
        pair.upstream?.unpipe();
        silence(pair.client);
        if (pair.upstream) silence(pair.upstream);
      }
    },
    restore() {
      blackholed = false;
    },
    close: async () => {
      for (const pair of [...pairs]) drop(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
