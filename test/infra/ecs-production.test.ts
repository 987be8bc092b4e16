import { beforeAll } from 'vitest';
import { describeEcs } from './ecs-suite.js';
import { describeFoundation } from './foundation-suite.js';
import { type ProgramRun, runProgram } from './harness.js';

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram('production', { platform: 'ecs' });
});

describeFoundation('production', () => run);
describeEcs('production', () => run);
