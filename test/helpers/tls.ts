import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway CA and a server certificate for 127.0.0.1, so a local redis-server can speak TLS the
 * way ElastiCache does with in-transit encryption. The app trusts the CA through NODE_EXTRA_CA_CERTS.
 */
export interface ThrowawayCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
  remove(): void;
}

export function throwawayCertificates(): ThrowawayCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-tls-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=mcp-fleet test CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('redis.key'),
    '-out',
    file('redis.csr'),
  );
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-days',
    '1',
    '-in',
    file('redis.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-extfile',
    file('san.ext'),
    '-out',
    file('redis.crt'),
  );
  return {
    caFile: file('ca.crt'),
    certFile: file('redis.crt'),
    keyFile: file('redis.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
