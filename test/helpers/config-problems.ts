import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config.js';

/** The problems the app's config loader reports for `env`, each as a user reads it; fails if it accepts `env`. */
export function configProblemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}
