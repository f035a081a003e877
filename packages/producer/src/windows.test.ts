import { describe, expect, it } from 'vitest'
import { planWindows, WINDOW_JOBS, WINDOW_PAYLOAD_BYTES } from './windows.ts'

const jobs = (sizes: number[]) => sizes.map((plaintextBytes) => ({ plaintextBytes }))

describe('planWindows', () => {
  it('cuts by count: windows of WINDOW_JOBS jobs, in input order', () => {
    expect(planWindows(jobs(new Array(2 * WINDOW_JOBS + 1).fill(10)))).toEqual([
      [0, WINDOW_JOBS],
      [WINDOW_JOBS, 2 * WINDOW_JOBS],
      [2 * WINDOW_JOBS, 2 * WINDOW_JOBS + 1],
    ])
  })

  it('cuts by payload: a window ends before the job that would pass WINDOW_PAYLOAD_BYTES; a larger job is alone', () => {
    const half = WINDOW_PAYLOAD_BYTES / 2
    expect(planWindows(jobs([half, half, 1, WINDOW_PAYLOAD_BYTES + 1, 1]))).toEqual([
      [0, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ])
    expect(planWindows([])).toEqual([])
  })
})
