import { beforeAll } from 'vitest';
import { describeEks } from './eks-suite.js';
import { userSettings } from './expectations.js';
import { describeFoundation } from './foundation-suite.js';
import { type ProgramRun, runProgram } from './harness.js';

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram('production', userSettings('production', 'eks'));
});

describeFoundation('production', 'eks', () => run);
describeEks('production', 'f5-nginx', () => run);
