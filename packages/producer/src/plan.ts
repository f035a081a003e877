/**
 * The SendMessageBatch entry Id of the job at input position `index`: its decimal digits. Always
 * valid (SQS: 1–80 of [A-Za-z0-9_-]; a safe integer has at most 16 digits), unique within a
 * request, and it maps straight back to the input. (sqs-producer used the message id or body.)
 */
export function entryIdFor(index: number): string {
  return String(index)
}

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
 * `ordered` (FIFO queues): consecutive runs in input order, each as long as the limits allow; for
 * runs that must stay in order, that greedy split is the fewest requests possible.
 *
 * Otherwise the order is free. Requests are mostly bound by the count (10 small messages) or by
 * size (a few large ones), and packing for one limit can waste the other: filling a large
 * message's request with medium ones leaves it full by bytes with room for entries, so more
 * requests are needed in the end. So the planner starts from the lower bound of requests and
 * deals the messages, largest first, each into the request with the most room left that still
 * takes entries (worst fit), trying more requests only when one does not fit; first-fit
 * decreasing is the fallback when that gains nothing.
 */
export function planBatches(sizes: readonly number[], limits: BatchLimits, ordered: boolean): number[][] {
  if (ordered) return planInOrder(sizes, limits)
  const order = Array.from(sizes.keys()).sort((a, b) => (sizes[b] as number) - (sizes[a] as number) || a - b)
  const firstFit = planFirstFitDecreasing(order, sizes, limits)
  // Search the fewest requests worst fit can fill, between the lower bound and what first fit needs.
  let low = minimumBatches(sizes, limits)
  let high = firstFit.length - 1
  let best: number[][] | undefined
  while (low <= high) {
    const count = Math.floor((low + high) / 2)
    const plan = planWorstFit(order, sizes, limits, count)
    if (plan) {
      best = plan
      high = count - 1
    } else {
      low = count + 1
    }
  }
  return (best ?? firstFit).map((positions) => positions.sort((a, b) => a - b))
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

/** Deals `order` into exactly `count` requests, each into the one with the most room; undefined if one does not fit. */
function planWorstFit(
  order: readonly number[],
  sizes: readonly number[],
  { maxEntries, maxBytes }: BatchLimits,
  count: number,
): number[][] | undefined {
  const batches: number[][] = Array.from({ length: count }, () => [])
  const room = new Array<number>(count).fill(maxBytes)
  for (const position of order) {
    const size = sizes[position] as number
    let target = -1
    for (let j = 0; j < count; j++) {
      if (
        (batches[j] as number[]).length < maxEntries &&
        (target === -1 || (room[j] as number) > (room[target] as number))
      ) {
        target = j
      }
    }
    if (target === -1 || (room[target] as number) < size) return undefined
    ;(batches[target] as number[]).push(position)
    room[target] = (room[target] as number) - size
  }
  return batches.filter((batch) => batch.length > 0)
}

interface OpenBatch {
  readonly positions: number[]
  bytes: number
}

function planFirstFitDecreasing(order: readonly number[], sizes: readonly number[], limits: BatchLimits): number[][] {
  const { maxEntries, maxBytes } = limits
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
  return all.map((batch) => batch.positions)
}

/**
 * A lower bound of the number of requests any plan needs; tests compare plans with it. The
 * largest of: by count; by total bytes; and by entry slots, where each message larger than half
 * the limit needs a request of its own that can take at most as many others as the smallest
 * messages that fit in its remaining room.
 */
export function minimumBatches(sizes: readonly number[], { maxEntries, maxBytes }: BatchLimits): number {
  let total = 0
  for (const size of sizes) total += size
  const ascending = [...sizes].sort((a, b) => a - b)
  // prefix[k]: bytes of the k smallest messages.
  const prefix = [0]
  for (const size of ascending) prefix.push((prefix.at(-1) as number) + size)
  let large = 0
  let slotsWithLarge = 0
  for (const size of sizes) {
    if (size * 2 <= maxBytes) continue
    large++
    const room = maxBytes - size
    // The most others this request can take: the k smallest that fit (binary search on prefix sums).
    let low = 0
    let high = Math.min(maxEntries - 1, ascending.length)
    while (low < high) {
      const mid = Math.ceil((low + high) / 2)
      if ((prefix[mid] as number) <= room) low = mid
      else high = mid - 1
    }
    slotsWithLarge += 1 + low
  }
  const bySlots = large + Math.max(0, Math.ceil((sizes.length - slotsWithLarge) / maxEntries))
  return Math.max(Math.ceil(sizes.length / maxEntries), Math.ceil(total / maxBytes), large, bySlots)
}
