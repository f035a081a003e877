import type { SQSRecord } from './lambda-types.ts'

/**
 * How the records of a batch are worked through: `pool` (standard queues: up to `concurrency` at
 * once, in any order), `sequential` (FIFO: in order, stopping at the first record not done), or
 * `groups` (FIFO with `skipGroupOnError`: up to `concurrency` message groups at once, each in
 * order, a group stopping at its first record not done).
 */
export type Schedule =
  | { readonly kind: 'pool'; readonly concurrency: number }
  | { readonly kind: 'sequential' }
  | { readonly kind: 'groups'; readonly concurrency: number }

/** Works on record `i`; resolves true when the records after it (FIFO) may go on. Never rejects. */
export type Step = (i: number) => Promise<boolean>

/**
 * Runs `step` over the records by `plan`. Nothing new starts once `signal` has aborted (the
 * invocation's deadline): records not started stay as they are, reported as failures.
 */
export async function schedule(
  records: readonly SQSRecord[],
  plan: Schedule,
  step: Step,
  signal: AbortSignal,
): Promise<void> {
  if (plan.kind === 'sequential') {
    await inOrder(allIndexes(records.length), step, signal)
    return
  }
  if (plan.kind === 'pool') {
    await pool(records.length, plan.concurrency, signal, async (i) => {
      await step(i)
    })
    return
  }
  const groups = byGroup(records)
  await pool(groups.length, plan.concurrency, signal, (g) => inOrder(groups[g] as number[], step, signal))
}

async function inOrder(indexes: readonly number[], step: Step, signal: AbortSignal): Promise<void> {
  for (const i of indexes) {
    if (signal.aborted || !(await step(i))) return
  }
}

/** Runs `work(0 … count-1)` with at most `concurrency` in flight; no new one after `signal` aborts. */
async function pool(
  count: number,
  concurrency: number,
  signal: AbortSignal,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count && !signal.aborted) await work(next++)
  }
  const workers: Promise<void>[] = []
  for (let w = 0; w < Math.min(concurrency, count); w++) workers.push(worker())
  await Promise.all(workers)
}

function allIndexes(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i)
}

/** Record indexes by `MessageGroupId`, groups in order of first appearance, each in record order. */
export function byGroup(records: readonly SQSRecord[]): number[][] {
  const groups = new Map<string | undefined, number[]>()
  for (let i = 0; i < records.length; i++) {
    const group = (records[i] as SQSRecord).attributes?.MessageGroupId
    const list = groups.get(group)
    if (list) list.push(i)
    else groups.set(group, [i])
  }
  return [...groups.values()]
}
