import { beforeAll } from 'vitest';
import { describeEcs } from './ecs-suite.js';
import { describeFoundation } from './foundation-suite.js';
import { type ProgramRun, runProgram } from './harness.js';

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram('staging', { platform: 'ecs' });
});

describeFoundation('staging', () => run);
describeEcs('staging', () => run);
