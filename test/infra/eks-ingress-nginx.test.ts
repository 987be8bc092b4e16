import { beforeAll } from 'vitest';
import { describeEks } from './eks-suite.js';
import { userSettings } from './expectations.js';
import { type ProgramRun, runProgram } from './harness.js';

/** Clusters that still run the retired community controller get its annotations instead. */
let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram('staging', {
    ...userSettings('staging', 'eks'),
    ingress: { controller: 'ingress-nginx' },
  });
});

describeEks('staging', 'ingress-nginx', () => run);
