import { type Spread, spread } from './harness.ts'
import { type CaseRuns, formatSize, messagesPerSecond, type RunCost } from './pipeline-support.ts'
import type { Table, TargetCheck } from './suite.ts'

// Issue 19's targets, at every size: throughput at defaults ≥ 0.9× the best raw ceiling, and
// client CPU per message ≤ 0.9× the raw default SQS client's at the same sealed size.
export const THROUGHPUT_TARGET = 0.9
export const CPU_TARGET = 0.9

/**
 * The raw ceiling of one round: the raw configuration with the highest throughput in that round
 * (all measured in the same round), so ours is compared with the best the SDK alone reached.
 */
export interface Ceiling {
  readonly payloadBytes: number
  /** The raw configurations it is the best of. */
  readonly of: readonly string[]
  /** Per round: which configuration was best. */
  readonly best: readonly string[]
  readonly runs: readonly RunCost[]
}

export function bestOf(cases: readonly (CaseRuns | undefined)[]): Ceiling {
  const present = cases.filter((c): c is CaseRuns => c !== undefined)
  const first = present[0]
  if (!first || present.length !== cases.length) throw new Error('missing raw case for the ceiling')
  const best: string[] = []
  const runs: RunCost[] = []
  first.runs.forEach((_, round) => {
    let winner = first
    for (const c of present) {
      if (messagesPerSecond(c.runs[round] as RunCost) > messagesPerSecond(winner.runs[round] as RunCost)) winner = c
    }
    best.push(winner.name)
    runs.push(winner.runs[round] as RunCost)
  })
  return { payloadBytes: first.payloadBytes, of: present.map((c) => c.name), best, runs }
}

/** The ceiling as a case, for throughputRatio. */
export function ceilingCase(ceiling: Ceiling, wireBytes: number): CaseRuns {
  return { name: 'raw ceiling', payloadBytes: ceiling.payloadBytes, wireBytes, runs: [...ceiling.runs] }
}

function cpuMicrosPerMessage(run: RunCost): number {
  return (run.clientCpuMs * 1000) / run.messages
}

/** Client CPU per message of ours and of a raw baseline, per round. */
export interface CpuPerMessage {
  readonly payloadBytes: number
  readonly ours: string
  readonly baseline: string
  /** µs of this process's CPU per message. */
  readonly oursMicros: Spread
  readonly baselineMicros: Spread
  /** ours / baseline, round by round. */
  readonly ratio: Spread
}

export function cpuPerMessage(ours: CaseRuns | undefined, baseline: CaseRuns | undefined): CpuPerMessage {
  if (!ours || !baseline) throw new Error('missing case for the CPU per message')
  return {
    payloadBytes: ours.payloadBytes,
    ours: ours.name,
    baseline: baseline.name,
    oursMicros: spread(ours.runs.map(cpuMicrosPerMessage)),
    baselineMicros: spread(baseline.runs.map(cpuMicrosPerMessage)),
    ratio: spread(
      ours.runs.map((run, i) => cpuMicrosPerMessage(run) / cpuMicrosPerMessage(baseline.runs[i] as RunCost)),
    ),
  }
}

/** ours / raw client CPU per message against a highest acceptable ratio. */
export function cpuCheck(what: string, cpu: CpuPerMessage, target: number): TargetCheck {
  return { what, ratio: cpu.ratio, target, bound: 'atMost', meetsTarget: cpu.ratio.median <= target }
}

function micros(s: Spread): string {
  return `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)})`
}

export function cpuTable(title: string, rows: readonly CpuPerMessage[]): Table {
  return {
    title,
    note:
      'Client CPU (this process, user + system) per message at the same sealed size: median (lowest–highest ' +
      'round); ratio round by round. The raw baseline is the default SQSClient with no crypto.',
    columns: ['job', 'ours', 'µs/msg', 'raw baseline', 'µs/msg', 'ours / raw'],
    rows: rows.map((r) => [
      formatSize(r.payloadBytes),
      r.ours,
      micros(r.oursMicros),
      r.baseline,
      micros(r.baselineMicros),
      `${r.ratio.median.toFixed(2)}× (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)})`,
    ]),
  }
}

/** The case named `name` at `bytes` (a curried look-up). */
export function bySize(results: readonly CaseRuns[], bytes: number) {
  return (name: string) => results.find((r) => r.payloadBytes === bytes && r.name === name)
}

/** Per size: the ceiling (best of `names`), ours' CPU per message against `cpuBaseline`'s. */
export function summarise(
  results: readonly CaseRuns[],
  sizes: readonly number[],
  names: readonly string[],
  ours: string,
  cpuBaseline: string,
): { ceilings: Ceiling[]; cpu: CpuPerMessage[] } {
  const ceilings = sizes.map((bytes) => bestOf(names.map(bySize(results, bytes))))
  const cpu = sizes.map((bytes) => cpuPerMessage(bySize(results, bytes)(ours), bySize(results, bytes)(cpuBaseline)))
  return { ceilings, cpu }
}

export function ceilingAt(ceilings: readonly Ceiling[], bytes: number, results: readonly CaseRuns[]): CaseRuns {
  const ceiling = ceilings.find((c) => c.payloadBytes === bytes) as Ceiling
  return ceilingCase(ceiling, bySize(results, bytes)(ceiling.of[0] as string)?.wireBytes ?? 0)
}
