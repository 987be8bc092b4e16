import { createSocket, type Socket } from 'node:dgram';

/**
 * A DNS server on a loopback UDP port that answers A queries from a table the test changes at
 * will, as Cloud Map or a headless Service changes its records when tasks come and go. A gateway
 * node is pointed at it with UPSTREAM_DNS_SERVERS, so its real resolver (c-ares, as in
 * production) does the lookups.
 *
 * Hand-written rather than a dependency: it answers one question type with a fixed TTL, which is
 * forty lines of RFC 1035 and nothing the product ships.
 */
export interface TestDnsServer {
  /** `127.0.0.1:<port>`, the form UPSTREAM_DNS_SERVERS takes. */
  address: string;
  /** Sets the A records of `name`; an empty list makes it answer NXDOMAIN, as a Service with no ready pod does. */
  setRecords(name: string, ips: string[]): void;
  /** A queries seen so far, by name. */
  queries(name: string): number;
  close(): Promise<void>;
}

const TYPE_A = 1;
const CLASS_IN = 1;
const TTL_SECONDS = 1;

export async function startDnsServer(): Promise<TestDnsServer> {
  const records = new Map<string, string[]>();
  const seen = new Map<string, number>();
  const socket: Socket = createSocket('udp4');
  socket.on('message', (query, peer) => {
    const answer = answerQuery(query, records, seen);
    if (answer) socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    setRecords: (name, ips) => records.set(name.toLowerCase(), ips),
    queries: (name) => seen.get(name.toLowerCase()) ?? 0,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function answerQuery(
  query: Buffer,
  records: Map<string, string[]>,
  seen: Map<string, number>,
): Buffer | undefined {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return undefined; // exactly one question
  // The question: labels, then QTYPE and QCLASS.
  const labels: string[] = [];
  let offset = 12;
  while (offset < query.length && query[offset] !== 0) {
    const length = query[offset] as number;
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
    offset += length + 1;
  }
  const questionEnd = offset + 5;
  if (questionEnd > query.length) return undefined;
  const type = query.readUInt16BE(offset + 1);
  const name = labels.join('.').toLowerCase();
  seen.set(name, (seen.get(name) ?? 0) + 1);
  const ips = type === TYPE_A ? (records.get(name) ?? []) : [];
  const known = records.has(name) && (records.get(name)?.length ?? 0) > 0;

  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // the query's id
  // QR=1, opcode 0, AA=1, RD copied, RA=1; RCODE 3 (NXDOMAIN) for a name with no records.
  const rd = (query[2] as number) & 0x01;
  header[2] = 0x84 | rd;
  header[3] = 0x80 | (known ? 0 : 3);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(ips.length, 6);
  const answers = ips.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // a pointer to the name in the question
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(TTL_SECONDS, 6);
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((octet, i) => {
      rr[12 + i] = Number(octet);
    });
    return rr;
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
}
