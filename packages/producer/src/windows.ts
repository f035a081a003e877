import type { PreparedJob } from './jobs.ts'

/**
 * A send() is sealed and sent in windows of at most this many jobs and this much payload. Requests
 * are packed optimally within a window: a send() of several windows may take one request per window
 * more than the optimum for all of its jobs at once.
 */
export const WINDOW_JOBS = 1000
export const WINDOW_PAYLOAD_BYTES = 8 * 1024 * 1024

/**
 * Splits jobs, in input order, into windows `[start, end)` of at most `WINDOW_JOBS` jobs and
 * `WINDOW_PAYLOAD_BYTES` of plaintext (a larger job has a window of its own).
 */
export function planWindows(jobs: readonly Pick<PreparedJob, 'plaintextBytes'>[]): [start: number, end: number][] {
  const windows: [number, number][] = []
  for (let start = 0, end = 0; start < jobs.length; start = end) {
    let payloadBytes = 0
    for (end = start; end < jobs.length && end - start < WINDOW_JOBS; end++) {
      payloadBytes += (jobs[end] as PreparedJob).plaintextBytes
      if (payloadBytes > WINDOW_PAYLOAD_BYTES && end > start) break
    }
    windows.push([start, end])
  }
  return windows
}
