import { request } from 'node:http';
import { Readable } from 'node:stream';

/**
 * A `fetch` for a client that calls the server's public URL (`https://mcp.example.com/mcp`) while
 * the edge (ALB or nginx) is replaced by a direct connection to the replayed container: the request
 * keeps its public `Host`, gains the `X-Forwarded-*` headers the edge adds, and goes in plain HTTP to
 * the mapped port. Node's own fetch derives `Host` from the URL and cannot pick the address a name
 * resolves to without undici's Agent (not a dependency here), hence node:http.
 */
export function edgeFetch(port: number, clientIp = '198.51.100.7'): typeof fetch {
  return async (input, init) => {
    const outgoing = new Request(input, init);
    const url = new URL(outgoing.url);
    const body = outgoing.body ? Buffer.from(await outgoing.arrayBuffer()) : undefined;
    const headers: Record<string, string> = Object.fromEntries(outgoing.headers);
    Object.assign(headers, {
      host: url.host,
      'x-forwarded-for': clientIp,
      'x-forwarded-proto': url.protocol.replace(':', ''),
    });
    if (body) headers['content-length'] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const sent = request(
        {
          host: '127.0.0.1',
          port,
          method: outgoing.method,
          path: `${url.pathname}${url.search}`,
          headers,
          signal: outgoing.signal,
        },
        (incoming) => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) {
            for (const item of Array.isArray(value) ? value : [value])
              if (item !== undefined) responseHeaders.append(name, item);
          }
          const status = incoming.statusCode ?? 502;
          const noBody = status === 204 || status === 304 || outgoing.method === 'HEAD';
          resolve(
            new Response(noBody ? null : (Readable.toWeb(incoming) as ReadableStream), {
              status,
              headers: responseHeaders,
            }),
          );
        },
      );
      sent.on('error', reject);
      sent.end(body);
    });
  };
}
