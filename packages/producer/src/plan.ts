/** How many entries and bytes one SendMessageBatch request may carry. */
export interface BatchLimits {
  /** Entries per request (SQS: 10). */
  readonly maxEntries: number
  /** Sum of the entries' sizes as SQS counts them (SQS: the queue's maximum message size). */
  readonly maxBytes: number
}

/**
 * Splits messages into SendMessageBatch requests. `sizes[i]` is message i's size as SQS counts it,
 * each at most `limits.maxBytes`. Returns batches of input positions, each batch in input order.
 *
 * `ordered` (FIFO queues): consecutive runs in input order, so that order within a message group
 * holds across batches sent one after another. Otherwise first-fit decreasing: the largest
 * messages open batches and smaller ones fill them, which reaches the fewest requests that the
 * count and size limits allow in all but contrived mixes.
 */
export function planBatches(sizes: readonly number[], limits: BatchLimits, ordered: boolean): number[][] {
  return ordered ? planInOrder(sizes, limits) : planFirstFitDecreasing(sizes, limits)
}

function planInOrder(sizes: readonly number[], { maxEntries, maxBytes }: BatchLimits): number[][] {
  const batches: number[][] = []
  let current: number[] = []
  let bytes = 0
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i] as number
    if (current.length === maxEntries || (current.length > 0 && bytes + size > maxBytes)) {
      batches.push(current)
      current = []
      bytes = 0
    }
    current.push(i)
    bytes += size
  }
  if (current.length > 0) batches.push(current)
  return batches
}

interface OpenBatch {
  readonly positions: number[]
  bytes: number
}

function planFirstFitDecreasing(sizes: readonly number[], { maxEntries, maxBytes }: BatchLimits): number[][] {
  const order = Array.from(sizes.keys()).sort((a, b) => (sizes[b] as number) - (sizes[a] as number) || a - b)
  const all: OpenBatch[] = []
  // Batches that can still take an entry; full ones leave, so the scan stays short.
  const open: OpenBatch[] = []
  for (const position of order) {
    const size = sizes[position] as number
    let placed = false
    for (let j = 0; j < open.length; j++) {
      const batch = open[j] as OpenBatch
      if (batch.bytes + size > maxBytes) continue
      batch.positions.push(position)
      batch.bytes += size
      if (batch.positions.length === maxEntries) open.splice(j, 1)
      placed = true
      break
    }
    if (!placed) {
      const batch: OpenBatch = { positions: [position], bytes: size }
      all.push(batch)
      if (maxEntries > 1) open.push(batch)
    }
  }
  return all.map((batch) => batch.positions.sort((a, b) => a - b))
}

/**
 * A lower bound of the number of requests any plan needs: by count, by total bytes, and one per
 * message larger than half the limit (no two of those share a request). Tests compare plans with it.
 */
export function minimumBatches(sizes: readonly number[], { maxEntries, maxBytes }: BatchLimits): number {
  let total = 0
  let large = 0
  for (const size of sizes) {
    total += size
    if (size * 2 > maxBytes) large++
  }
  return Math.max(Math.ceil(sizes.length / maxEntries), Math.ceil(total / maxBytes), large)
}
