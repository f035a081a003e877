import { EventEmitter } from 'node:events'
import type { Message } from '@aws-sdk/client-sqs'
import { describe, expect, it } from 'vitest'
import { BreakerGate, type BreakerRule } from './breaker-gate.ts'
import type { ConsumerEvents } from './events.ts'
import { dataKeyOf, MessageOpening, type Opened, sortBatch } from './opening.ts'
import { ConsumerReporter } from './reporting.ts'
import { failingBody, sealedBody, stubOpener } from './test-support/stub-opener.ts'

/** A breaker rule that records what it is told and answers `verdict` to suspect failures. */
function recordingRule(verdict: 'quarantine' | 'retry') {
  const seen: { success: Array<string | undefined>; suspect: Array<string | undefined> } = { success: [], suspect: [] }
  const rule: BreakerRule = {
    state: 'closed',
    streak: 0,
    waitMs: () => 0,
    tryProbe: () => false,
    probeResult: () => 'closed',
    suspectFailure: (dataKey) => {
      seen.suspect.push(dataKey)
      return verdict
    },
    success: (dataKey) => void seen.success.push(dataKey),
  }
  return { rule, seen }
}

function opening(verdict: 'quarantine' | 'retry') {
  const { rule, seen } = recordingRule(verdict)
  const gate = new BreakerGate(
    { breakerThreshold: 3, breakerProbeBaseDelayMs: 1, breakerProbeMaxDelayMs: 1 },
    new ConsumerReporter(new EventEmitter<ConsumerEvents>(), undefined),
    rule,
  )
  return { opening: new MessageOpening(stubOpener(), gate), seen }
}

const message = (body: string, group?: string, receiveCount = 1): Message => ({
  MessageId: body.slice(0, 12),
  Body: body,
  Attributes: { ApproximateReceiveCount: String(receiveCount), ...(group ? { MessageGroupId: group } : {}) },
})
const signal = new AbortController().signal
const queueUrl = 'http://127.0.0.1:4566/000000000000/q'

describe('dataKeyOf', () => {
  it('finds the encrypted_data_key text of a v1 body, whitespace allowed, else undefined', () => {
    expect(dataKeyOf('{"encrypted_data_key": "abc=", "encrypted_message": "t"}')).toBe('abc=')
    expect(dataKeyOf('{"encrypted_message":"t","encrypted_data_key":"k2"}')).toBe('k2')
    expect(dataKeyOf('not json')).toBeUndefined()
    expect(dataKeyOf(undefined)).toBeUndefined()
  })
})

describe('MessageOpening', () => {
  it('classifies by core’s open verdict: opened, poison, retry; every successful open goes to the breaker with its data key', async () => {
    const { opening: o, seen } = opening('quarantine')
    const kinds = await Promise.all(
      [sealedBody('a', 'k1'), sealedBody('b', 'k1'), failingBody('TOKEN_MAC'), failingBody('KMS_THROTTLED')].map(
        async (body) => (await o.open(message(body), queueUrl, signal)).kind,
      ),
    )
    expect(kinds).toEqual(['opened', 'opened', 'poison', 'retry'])
    expect(seen.success).toEqual(['k1', 'k1'])
    expect(seen.suspect).toEqual([])
  })

  it('every suspect code goes to the breaker with its data key, which decides quarantine or retry', async () => {
    const codes = ['KMS_ACCESS_DENIED', 'KMS_KEY_NOT_ALLOWED', 'KMS_INCORRECT_KEY', 'CONTEXT_MISMATCH'] as const
    for (const verdict of ['quarantine', 'retry'] as const) {
      const { opening: o, seen } = opening(verdict)
      const results = await Promise.all(codes.map((code) => o.open(message(failingBody(code, code)), queueUrl, signal)))
      expect(results.map((r) => r.kind)).toEqual(codes.map(() => (verdict === 'quarantine' ? 'poison' : 'retry')))
      expect(seen.suspect).toEqual([...codes])
    }
  })

  it('a rule that does not want the data key (wantsDataKey false) is told of a success without it', async () => {
    const { rule, seen } = recordingRule('retry')
    let wants = false
    Object.defineProperty(rule, 'wantsDataKey', { get: () => wants })
    const gate = new BreakerGate(
      { breakerThreshold: 3, breakerProbeBaseDelayMs: 1, breakerProbeMaxDelayMs: 1 },
      new ConsumerReporter(new EventEmitter<ConsumerEvents>(), undefined),
      rule,
    )
    const o = new MessageOpening(stubOpener(), gate)
    await o.open(message(sealedBody('a', 'k1')), queueUrl, signal)
    wants = true
    await o.open(message(sealedBody('b', 'k2')), queueUrl, signal)
    expect(seen.success).toEqual([undefined, 'k2'])
  })
})

describe('sortBatch', () => {
  const backoff = { baseDelaySeconds: 10, maxDelaySeconds: 10 }
  const opened = (body: string, group?: string): Opened => ({
    kind: 'opened',
    message: message(body, group),
    opened: {
      plaintext: Buffer.alloc(0),
      value: body,
      contentType: 'text',
      kmsKeyArn: '',
      encryptionContext: undefined,
    },
  })
  const retry = (body: string, group?: string): Opened => ({
    kind: 'retry',
    message: message(body, group),
    error: Object.assign(new Error('x'), { code: 'KMS_UNAVAILABLE' }) as never,
  })

  it('FIFO: opened jobs behind a retry of their group are held with its visibility; other groups go on', () => {
    const sorted = sortBatch([opened('a1', 'a'), retry('a2', 'a'), opened('a3', 'a'), opened('b1', 'b')], true, backoff)
    expect(sorted.opened.map((o) => o.message.Body)).toEqual(['a1', 'b1'])
    expect(sorted.retry).toHaveLength(1)
    expect(sorted.held).toEqual([
      { message: expect.objectContaining({ Body: 'a3' }), seconds: sorted.retry[0]?.seconds },
    ])
    expect(sorted.retry[0]?.seconds).toBeGreaterThanOrEqual(5)
  })

  it('standard queues hold nothing', () => {
    const sorted = sortBatch([retry('a2', 'a'), opened('a3', 'a')], false, backoff)
    expect(sorted.held).toEqual([])
    expect(sorted.opened).toHaveLength(1)
  })
})
