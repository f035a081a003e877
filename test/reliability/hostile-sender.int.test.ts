// Issue 23 item 2 at soak size: a sender mixing one message per 200 ms sealed under a key it then disabled
// among good traffic must not stall the worker (see test/consumer-breaker.int.test.ts for the 300-job run).
import { afterAll, describe, expect, it } from 'vitest'
import { localstack } from '../support.ts'
import { runHostileSender } from './hostile-sender.ts'
import { report, scale } from './scale.ts'

const { sqs, kms } = localstack()

afterAll(() => {
  sqs.destroy()
  kms.destroy()
})

describe('hostile sender', () => {
  const good = scale(1_000, 5_000)
  const goodBoundMs = scale(30_000, 120_000)
  it(
    `1 bad message per 200 ms among ${good} good jobs (10 every 100 ms): every good job handled within ${goodBoundMs / 1000} s, every bad one quarantined intact, none good`,
    async () => {
      const figures = await runHostileSender(sqs, kms, {
        good,
        goodBatchEveryMs: 100,
        badEveryMs: 200,
        goodBoundMs,
        quarantineBoundMs: 30_000,
        trickleEveryMs: 250,
      })
      report({ scenario: 'hostile sender', ...figures })
      expect(figures.goodHandledMs).toBeDefined()
      expect(figures.badQuarantinedMs).toBeDefined()
      expect(figures.handled).toBe(good + figures.trickle)
      expect(figures.goodQuarantined).toBe(0)
      expect(figures.badQuarantined).toBe(figures.badSent)
      expect(figures.badIdenticalInDlq).toBe(figures.badSent)
      expect(figures.quarantineCodes).toEqual(['KMS_KEY_DISABLED'])
      expect(figures.stillQueued).toBe(0)
      sqs.destroy()
      kms.destroy()
    },
    goodBoundMs + 180_000,
  )
})
