import { cpuUsage } from 'node:process'

/** One unit of work; a promise is awaited before the next call. */
export type Operation = () => unknown

/** How long and how often to measure. */
export interface BenchSettings {
  /** Rounds per case; each round measures the baseline and ours back to back. Median and spread are over rounds. */
  readonly rounds: number
  /** CPU time each side of a case gets per round, in ms. */
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
  /** Lower and upper quartile: the middle half of the rounds lies between them. */
  readonly p25: number
  readonly p75: number
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

const collectGarbage = (globalThis as { gc?: () => void }).gc

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
  // With --expose-gc (pnpm bench), each slice starts from a collected heap: otherwise the GC work one
  // side's garbage triggers (e.g. many large ArrayBuffers) is paid inside the other side's slice.
  collectGarbage?.()
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

/** Quantile of sorted values, interpolating linearly between neighbours. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const at = (sorted.length - 1) * q
  const low = Math.floor(at)
  const high = Math.ceil(at)
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (at - low)
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    median: quantile(sorted, 0.5),
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    rounds: values,
  }
}

/**
 * Measures one case: a check, a warm-up, then rounds. A round measures one
 * slice of each side back to back (which side goes first alternates), so
 * load from other processes, frequency changes and GC phases fall on both
 * alike; its ratio is ours / baseline. Many short rounds and their median make
 * the figure robust to bursts of contention on a shared machine.
 */
export async function measureCase(benchCase: BenchCase, settings: BenchSettings): Promise<CaseResult> {
  await benchCase.check()
  await runSlice(benchCase.baseline, settings.warmupCpuMs)
  await runSlice(benchCase.ours, settings.warmupCpuMs)
  const ours: number[] = []
  const baseline: number[] = []
  const ratios: number[] = []
  for (let round = 0; round < settings.rounds; round++) {
    let b: number
    let o: number
    if (round % 2 === 0) {
      b = await opsPerCpuSecond(benchCase.baseline, settings.minCpuMs)
      o = await opsPerCpuSecond(benchCase.ours, settings.minCpuMs)
    } else {
      o = await opsPerCpuSecond(benchCase.ours, settings.minCpuMs)
      b = await opsPerCpuSecond(benchCase.baseline, settings.minCpuMs)
    }
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
