import { cpuUsage } from 'node:process'

/** One unit of work; a promise is awaited before the next call. */
export type Operation = () => unknown

/** How long and how often to measure. */
export interface BenchSettings {
  /** Rounds per case; each round measures both sides in interleaved slices. Median and spread are over rounds. */
  readonly rounds: number
  /** CPU time each side of a case gets per round, in ms, spread over interleaved slices. */
  readonly minCpuMs: number
  /** CPU time each side runs unmeasured before the first round, in ms. */
  readonly warmupCpuMs: number
  /** Payload sizes in bytes for suites that sweep sizes. */
  readonly sizes: readonly number[]
}

/** One comparison: our code against a baseline doing the same job, measured in the same process and rounds. */
export interface BenchCase {
  /** What is measured, e.g. `Fernet.decrypt`. Cases of one group form a row of the report. */
  readonly group: string
  /** Payload size in bytes. */
  readonly bytes: number
  /** What ours is compared with, e.g. `floor` or `floor + JSON`. */
  readonly baselineName: string
  /** Lowest acceptable ours / baseline ratio (median over rounds). */
  readonly target: number
  readonly ours: Operation
  readonly baseline: Operation
  /** Proves, before measuring, that both sides do the job (e.g. open to the same plaintext); throws otherwise. */
  readonly check: () => unknown
}

/** Summary of per-round values. */
export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly rounds: readonly number[]
}

export interface CaseResult {
  readonly group: string
  readonly bytes: number
  readonly baselineName: string
  readonly target: number
  /** Ops per CPU-second of ours, per round. */
  readonly oursOpsPerCpuSecond: Spread
  /** Ops per CPU-second of the baseline, per round. */
  readonly baselineOpsPerCpuSecond: Spread
  /** ours / baseline of each round (both measured back to back), then summarised. */
  readonly ratio: Spread
  readonly meetsTarget: boolean
}

function cpuMicros(): number {
  const { user, system } = cpuUsage()
  return user + system
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function'
}

/** Work done in one measured slice: operations and the process CPU time they took. */
interface Slice {
  readonly ops: number
  readonly cpuMicros: number
}

/**
 * Runs `op` for at least `minCpuMs` of process CPU time (user + system, all
 * threads). The clock is read once per batch; batches grow until one takes
 * about a millisecond, so reading it costs nothing measurable.
 */
async function runSlice(op: Operation, minCpuMs: number): Promise<Slice> {
  const minMicros = minCpuMs * 1000
  const first = op()
  const async = isThenable(first)
  if (async) await first
  let ops = 0
  let batch = 1
  const start = cpuMicros()
  let elapsed = 0
  while (elapsed < minMicros) {
    const before = elapsed
    if (async) for (let i = 0; i < batch; i++) await op()
    else for (let i = 0; i < batch; i++) op()
    ops += batch
    elapsed = cpuMicros() - start
    if (elapsed - before < 1000) batch *= 2
  }
  return { ops, cpuMicros: elapsed }
}

/** Ops per CPU-second of `op` over at least `minCpuMs` of process CPU time. */
export async function opsPerCpuSecond(op: Operation, minCpuMs: number): Promise<number> {
  const { ops, cpuMicros } = await runSlice(op, minCpuMs)
  return ops / (cpuMicros / 1e6)
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
  return { median, min: sorted[0] ?? Number.NaN, max: sorted[sorted.length - 1] ?? Number.NaN, rounds: values }
}

// Each round interleaves this many slices of each side, so that load from other processes,
// frequency changes and GC phases fall on both sides alike.
const SLICES_PER_ROUND = 8

/** Measures one case: a check, a warm-up, then rounds of interleaved slices (which side goes first alternates). */
export async function measureCase(benchCase: BenchCase, settings: BenchSettings): Promise<CaseResult> {
  await benchCase.check()
  await runSlice(benchCase.baseline, settings.warmupCpuMs)
  await runSlice(benchCase.ours, settings.warmupCpuMs)
  const sliceMs = Math.max(1, settings.minCpuMs / SLICES_PER_ROUND)
  const ours: number[] = []
  const baseline: number[] = []
  const ratios: number[] = []
  for (let round = 0; round < settings.rounds; round++) {
    const sums = { ours: { ops: 0, cpuMicros: 0 }, baseline: { ops: 0, cpuMicros: 0 } }
    for (let slice = 0; slice < SLICES_PER_ROUND; slice++) {
      const order = (round + slice) % 2 === 0 ? (['baseline', 'ours'] as const) : (['ours', 'baseline'] as const)
      for (const side of order) {
        const { ops, cpuMicros } = await runSlice(benchCase[side], sliceMs)
        sums[side].ops += ops
        sums[side].cpuMicros += cpuMicros
      }
    }
    const o = sums.ours.ops / (sums.ours.cpuMicros / 1e6)
    const b = sums.baseline.ops / (sums.baseline.cpuMicros / 1e6)
    ours.push(o)
    baseline.push(b)
    ratios.push(o / b)
  }
  const ratio = spread(ratios)
  return {
    group: benchCase.group,
    bytes: benchCase.bytes,
    baselineName: benchCase.baselineName,
    target: benchCase.target,
    oursOpsPerCpuSecond: spread(ours),
    baselineOpsPerCpuSecond: spread(baseline),
    ratio,
    meetsTarget: ratio.median >= benchCase.target,
  }
}
