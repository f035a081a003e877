import type { BenchCase, BenchSettings } from './harness.ts'

/** A family of cases measured together, e.g. `crypto` now, `pipeline` (SQS round trips against peers) later. */
export interface Suite {
  readonly name: string
  /** What is compared with what, and under which conditions: printed above the suite's table. */
  readonly description: string
  setup(settings: BenchSettings): Promise<{ cases: BenchCase[]; teardown: () => unknown }>
}
