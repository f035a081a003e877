/**
 * The reliability suite runs in two sizes: the fast one in the test command (seconds per scenario) and the
 * soak (`pnpm soak`, SOAK=1) with the durations and job counts of issue 12.
 */
export const SOAK = process.env.SOAK === '1'

/** `fast` in the test command, `soak` under `pnpm soak`. */
export function scale<T>(fast: T, soak: T): T {
  return SOAK ? soak : fast
}

/** Prints one scenario's figures as a JSON line the reliability report is written from. */
export function report(figures: Record<string, unknown>): void {
  console.info(`[reliability] ${JSON.stringify({ soak: SOAK, ...figures })}`)
}
