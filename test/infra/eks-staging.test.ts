import { beforeAll } from 'vitest';
import { describeEks } from './eks-suite.js';
import { describeFoundation } from './foundation-suite.js';
import { type ProgramRun, runProgram } from './harness.js';

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram('staging', { platform: 'eks' });
});

describeFoundation('staging', () => run);
describeEks('staging', 'f5-nginx', () => run);
