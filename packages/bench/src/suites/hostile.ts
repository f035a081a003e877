import { ok } from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Fernet, isSqsEnvelopeError } from '@sqs-envelope/core'
import { encodeBody, MAX_BODY_BYTES, parseBody } from '@sqs-envelope/core/wire'
import type { BenchCase } from '../harness.ts'
import type { Suite } from '../suite.ts'

// A copy that is a plain heap string, as bodies from the SDK are (not a rope, not external).
const heapString = (s: string): string => JSON.parse(JSON.stringify(s)) as string

function rejects(body: string, code: string): () => void {
  return () => {
    try {
      parseBody(body)
    } catch (error) {
      if (isSqsEnvelopeError(error) && error.code === code) return
      throw error
    }
    throw new Error(`parseBody accepted a hostile body; expected ${code}`)
  }
}

/**
 * What the worst bodies of SQS's maximum size cost to reject, against reading
 * a valid body of about the same size (parseBody only: no key is involved).
 */
export const hostileSuite: Suite = {
  name: 'hostile',
  description:
    'parseBody rejecting 1 MiB bodies built to be expensive, against parseBody of a valid ~1 MiB body. ' +
    'Target: rejecting costs at most 10× reading a valid body (ratio ≥ 0.10).',
  async setup() {
    const fernet = new Fernet(Fernet.generateKey())
    const valid = heapString(encodeBody(randomBytes(184), fernet.encrypt(randomBytes(760_000))))
    fernet.destroy()
    const half = (MAX_BODY_BYTES - 2) / 2
    const bodies: [string, string, string][] = [
      ['reject 1 MiB [[[…]]]', heapString('['.repeat(half) + ']'.repeat(half)), 'BODY_SHAPE'],
      ['reject 1 MiB [[[… unclosed', heapString('['.repeat(MAX_BODY_BYTES)), 'BODY_NOT_JSON'],
      ['reject 1 MiB {"a":{"a":…', heapString('{"a":'.repeat(Math.floor(MAX_BODY_BYTES / 5))), 'BODY_NOT_JSON'],
    ]
    const cases: BenchCase[] = bodies.map(([group, body, code]) => ({
      group,
      bytes: body.length,
      baselineName: 'parseBody of a valid body',
      target: 0.1,
      ours: rejects(body, code),
      baseline: () => parseBody(valid),
      check: () => {
        rejects(body, code)()
        ok(parseBody(valid).tokenBytes.length > 760_000)
      },
    }))
    return { cases, teardown: () => {} }
  },
}
