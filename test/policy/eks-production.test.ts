import { beforeAll } from 'vitest';
import { type ProgramRun, runProgram } from '../infra/harness.js';
import { describePolicyPack } from './policy-suite.js';

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram('production', { platform: 'eks' });
});

describePolicyPack('production', 'eks', () => run);
