/**
 * The CPU/memory pairs Fargate accepts (CPU in units of 1/1024 vCPU, memory in MiB).
 * ECS rejects any other pair only when the task definition is registered, i.e. halfway through
 * `pulumi up`; checking it in config makes the mistake fail before any resource exists.
 * Source: "Task CPU and memory" in the Amazon ECS developer guide.
 */
const FARGATE_MEMORY_BY_CPU: Record<number, readonly number[]> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += step) values.push(value);
  return values;
}

/** Returns null when Fargate accepts the pair, otherwise a sentence saying what it accepts. */
export function fargateSizeProblem(cpu: number, memory: number): string | null {
  const memories = FARGATE_MEMORY_BY_CPU[cpu];
  if (!memories) {
    return `Fargate accepts cpu ${Object.keys(FARGATE_MEMORY_BY_CPU).join(', ')}; got ${cpu}`;
  }
  if (!memories.includes(memory)) {
    const low = memories[0];
    const high = memories[memories.length - 1];
    return `Fargate cpu ${cpu} accepts memory ${low}-${high} MiB (${memories.length} sizes: ${memories.join(', ')}); got ${memory}`;
  }
  return null;
}
