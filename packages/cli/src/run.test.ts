import type { ConsumerMetrics } from '@sqs-envelope/consumer'
import { describe, expect, it } from 'vitest'
import { statusLine } from './run.ts'

const metrics = (overrides: Partial<ConsumerMetrics>): ConsumerMetrics => ({
  received: 0,
  processed: 0,
  failed: 0,
  quarantined: 0,
  transientRetries: 0,
  inFlight: 0,
  maxInFlight: 0,
  kmsDecryptCalls: 0,
  cacheHitRatio: 0,
  breaker: 'closed',
  ...overrides,
})

describe('statusLine', () => {
  it('shows the rate since the last line and the totals', () => {
    const before = metrics({ processed: 100 })
    const now = metrics({ processed: 600, inFlight: 12, quarantined: 1, kmsDecryptCalls: 3, cacheHitRatio: 0.995 })
    expect(statusLine(now, before, 5)).toBe(
      'handled 600 (100.0/s), in flight 12, failed 0, quarantined 1, KMS calls 3, cache hit ratio 99.5%',
    )
  })

  it('names the breaker when it is not closed', () => {
    expect(statusLine(metrics({ breaker: 'open' }), undefined, 1)).toMatch(/, KMS breaker open$/)
  })
})
