/**
 * Which environment variable names hold credentials. One definition, used twice: the stack config
 * refuses such names under `env` (infra/config/server.ts), and the policy pack refuses them as
 * plaintext values in what the program registers (policy/rules/plaintext-secrets.ts).
 *
 * A name is split into words (`MCP_STATE_KEY` → MCP, STATE, KEY). It holds a credential when one of
 * its words is a credential word, unless the next word says it only describes one:
 * `REDIS_KEY_PREFIX` and `AWS_ACCESS_KEY_ID` name no secret, `MCP_STATE_KEY` and `DB_PASSWORD` do.
 */

const CREDENTIAL_WORDS = new Set([
  'KEY',
  'KEYS',
  'APIKEY',
  'APIKEYS',
  'TOKEN',
  'TOKENS',
  'SECRET',
  'SECRETS',
  'PASSWORD',
  'PASSWORDS',
  'PASSWD',
  'PWD',
  'CREDENTIAL',
  'CREDENTIALS',
]);

/** Words that turn `…_KEY_<word>` into metadata about a credential rather than the credential itself. */
const DESCRIPTIVE_WORDS = new Set([
  'ID',
  'IDS',
  'PREFIX',
  'NAME',
  'NAMES',
  'ARN',
  'FILE',
  'PATH',
  'HEADER',
  'FIELD',
  'LENGTH',
  'TTL',
  'SECONDS',
  'TYPE',
  'ALGORITHM',
]);

export function looksLikeSecretName(name: string): boolean {
  const words = name
    .toUpperCase()
    .split(/[_\-.]+/)
    .filter((word) => word !== '');
  return words.some(
    (word, index) => CREDENTIAL_WORDS.has(word) && !DESCRIPTIVE_WORDS.has(words[index + 1] ?? ''),
  );
}

/** A URL with a password in it (`rediss://:TOKEN@host`, `postgres://user:pw@host`) is a credential, whatever its name. */
export function hasUrlCredentials(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]+@/i.test(value.trim());
}
