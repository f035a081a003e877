// Differential test: our Fernet against Python's cryptography.fernet (the interop venv) over random
// tokens and mutations, in one Python process per test. Where the two disagree, the only disagreement
// allowed is the documented strictness one, listed in ALLOWED below.
import { fileURLToPath } from 'node:url'
import { Fernet, isSqsEnvelopeError } from '@sqs-envelope/core'
import { decodeUrlsafeBase64, encodeUrlsafeBase64 } from '@sqs-envelope/core/wire'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { runPythonScript } from '../interop/python.ts'
import { report, scale } from './scale.ts'

const oracle = fileURLToPath(new URL('./fernet_oracle.py', import.meta.url))

/**
 * The one allowed disagreement: Python's `base64.urlsafe_b64decode` is lenient (it drops characters
 * outside the alphabet, such as whitespace or '!', accepts the standard alphabet's '+' and '/', and
 * ignores non-zero trailing bits), where we accept only canonical urlsafe base64 with padding and
 * answer TOKEN_ENCODING. We may reject what Python accepts, for this reason only; never the reverse.
 */
const ALLOWED = 'non-canonical base64 (Python lenient, ours TOKEN_ENCODING)'

interface Case {
  readonly kind: string
  readonly key: string
  readonly token: string
}

function cases(count: number): Case[] {
  const out: Case[] = []
  const seeds = fc.sample(
    fc.record({
      key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      data: fc.uint8Array({ maxLength: 300 }),
      at: fc.nat(),
      bit: fc.nat(),
      char: fc.oneof(
        fc.constantFrom(' ', '\n', '\t', '+', '/', '=', '!', '.', '-', '_', 'A', 'é', '\u0000'),
        fc.string({ minLength: 1, maxLength: 1 }),
      ),
      timestamp: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 40 })),
      garbage: fc.uint8Array({ maxLength: 200 }),
    }),
    { numRuns: count, seed: 12 },
  )
  for (const s of seeds) {
    const key = encodeUrlsafeBase64(s.key)
    const fernet = new Fernet(s.key)
    const token = fernet.encrypt(s.data, { timestamp: s.timestamp })
    const bytes = decodeUrlsafeBase64(token) as Buffer
    const i = s.at % token.length
    const flipped = Buffer.from(bytes)
    flipped[(s.bit >> 3) % bytes.length] = (flipped[(s.bit >> 3) % bytes.length] as number) ^ (1 << (s.bit & 7))
    out.push(
      { kind: 'valid', key, token },
      { kind: 'bit flip', key, token: encodeUrlsafeBase64(flipped) },
      { kind: 'truncated bytes', key, token: encodeUrlsafeBase64(bytes.subarray(0, s.at % bytes.length)) },
      { kind: 'truncated chars', key, token: token.slice(0, i) },
      { kind: 'char replaced', key, token: token.slice(0, i) + s.char + token.slice(i + 1) },
      { kind: 'char inserted', key, token: token.slice(0, i) + s.char + token.slice(i) },
      { kind: 'char deleted', key, token: token.slice(0, i) + token.slice(i + 1) },
      { kind: 'standard alphabet', key, token: token.replaceAll('-', '+').replaceAll('_', '/') },
      { kind: 'padding removed', key, token: token.replace(/=+$/, '') },
      { kind: 'whitespace', key, token: ` ${token}\n` },
      { kind: 'garbage', key, token: encodeUrlsafeBase64(Buffer.concat([Buffer.from([0x80]), s.garbage])) },
      { kind: 'other key', key: Fernet.generateKey(), token },
    )
  }
  return out
}

function ours(c: Case): { ok: true; plaintext: string } | { ok: false; code: string } {
  try {
    return { ok: true, plaintext: new Fernet(c.key).decrypt(c.token).toString('base64') }
  } catch (error) {
    if (!isSqsEnvelopeError(error)) throw error
    return { ok: false, code: error.code }
  }
}

describe('differential: Fernet against Python cryptography.fernet', () => {
  it('random tokens and mutations: same verdict and plaintext, except the listed strictness', async () => {
    const all = cases(scale(150, 2_000))
    const input = Buffer.from(all.map((c) => `${JSON.stringify({ key: c.key, token: c.token })}\n`).join(''))
    const lines = (await runPythonScript(oracle, [], input)).split('\n').filter(Boolean)
    expect(lines).toHaveLength(all.length)

    const disagreements: Record<string, number> = {}
    const agreements = { accepted: 0, rejected: 0 }
    for (const [i, c] of all.entries()) {
      const py = JSON.parse(lines[i] as string) as { ok: boolean; plaintext_b64?: string }
      const we = ours(c)
      if (we.ok && py.ok) {
        expect(we.plaintext, `${c.kind} #${i}: same plaintext`).toBe(py.plaintext_b64)
        agreements.accepted++
      } else if (!we.ok && !py.ok) {
        agreements.rejected++
      } else {
        // We must never accept what Python refuses.
        expect(we.ok, `${c.kind} #${i}: accepted by us, refused by Python`).toBe(false)
        expect(we.ok ? undefined : we.code, `${c.kind} #${i}`).toBe('TOKEN_ENCODING')
        expect(decodeUrlsafeBase64(c.token), `${c.kind} #${i} is non-canonical`).toBeUndefined()
        const label = `${ALLOWED}: ${c.kind}`
        disagreements[label] = (disagreements[label] ?? 0) + 1
      }
    }
    report({ scenario: 'differential fernet', cases: all.length, ...agreements, disagreements })
    // Each valid token and its "other key" twin are decided the same way by both.
    expect(agreements.accepted).toBeGreaterThanOrEqual(all.length / 12)
  }, 300_000)
})
