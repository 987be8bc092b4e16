import { expect, it } from 'vitest';
import { type Recorded, runProgram } from './harness.js';

it('fails a bad stack config before any resource exists', async () => {
  const record: Recorded[] = [];
  await expect(runProgram('staging', { platform: 'lambda' }, { record })).rejects.toThrow(
    /Invalid stack config \(1 problem\):\n {2}mcp-fleet:platform: expected "ecs" or "eks"/,
  );
  expect(record).toEqual([]);
});
