/** IPv4 address arithmetic: enough to decide whether a CIDR rule or route covers an address. */

export function ipToNumber(ip: string): number {
  const octets = ip.split('.').map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return octets.reduce((value, octet) => value * 256 + octet, 0);
}

function numberToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function parseCidr(cidr: string): { base: number; prefix: number } {
  const [address = '', prefixText = '32'] = cidr.split('/');
  const prefix = Number(prefixText);
  const size = 2 ** (32 - prefix);
  return { base: Math.floor(ipToNumber(address) / size) * size, prefix };
}

export function cidrContains(cidr: string, ip: string): boolean {
  const { base, prefix } = parseCidr(cidr);
  const value = ipToNumber(ip);
  return value >= base && value < base + 2 ** (32 - prefix);
}

/** The `n`-th address of a block (AWS reserves the first four of a subnet, so use n ≥ 4). */
export function addressIn(cidr: string, n: number): string {
  return numberToIp(parseCidr(cidr).base + n);
}

export function prefixLength(cidr: string): number {
  return parseCidr(cidr).prefix;
}
