import { beforeAll } from 'vitest';
import { userSettings } from '../infra/expectations.js';
import { type ProgramRun, runProgram } from '../infra/harness.js';
import { describePolicyPack } from './policy-suite.js';

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram('staging', userSettings('staging', 'eks'));
});

describePolicyPack('staging', 'eks', () => run);
