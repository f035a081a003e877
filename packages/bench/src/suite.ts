import type { BenchCase, BenchSettings, Spread } from './harness.ts'

/**
 * A family of measurements taken together. A suite either returns `BenchCase`s from `setup()` (ours
 * against a baseline in ops per CPU-second, measured by the harness) or measures itself in `run()`
 * (throughput on LocalStack, KMS calls, memory): then it reports tables, the ratios it checks
 * against targets, and the figures behind them for the JSON.
 */
export interface Suite {
  readonly name: string
  /** What is compared with what, and under which conditions: printed above the suite's table. */
  readonly description: string
  setup?(settings: BenchSettings): Promise<{ cases: BenchCase[]; teardown: () => unknown }>
  run?(settings: BenchSettings, log: (line: string) => void): Promise<SuiteMeasurements>
}

/** A markdown table of the human report. */
export interface Table {
  readonly title: string
  /** A sentence or two under the title: what the columns mean, what was not measured. */
  readonly note?: string
  readonly columns: readonly string[]
  readonly rows: readonly (readonly string[])[]
}

/** A ratio measured in one run (median of rounds) against the target for it. */
export interface TargetCheck {
  readonly what: string
  readonly ratio: Spread
  /** Lowest acceptable median ratio (highest with `bound: 'atMost'`); `null`: reported, no target. */
  readonly target: number | null
  /** `'atMost'`: the median must not exceed the target (a cost, such as CPU per message). Absent: at least. */
  readonly bound?: 'atMost'
  /** `null` when there is no target. */
  readonly meetsTarget: boolean | null
}

/** What a self-measuring suite (`run`) found. */
export interface SuiteMeasurements {
  readonly tables: readonly Table[]
  readonly checks: readonly TargetCheck[]
  /** Every figure behind the tables, per round, for the JSON. */
  readonly figures: Readonly<Record<string, unknown>>
}
