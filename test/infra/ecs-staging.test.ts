import { beforeAll } from 'vitest';
import { describeEcsStart } from './ecs-start-suite.js';
import { describeEcs } from './ecs-suite.js';
import { userSettings } from './expectations.js';
import { describeFoundation } from './foundation-suite.js';
import { type ProgramRun, runProgram } from './harness.js';

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram('staging', userSettings('staging', 'ecs'));
});

describeFoundation('staging', 'ecs', () => run);
describeEcs('staging', () => run);
describeEcsStart('staging', () => run);
