import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DeduplicationIds } from './deduplication.ts'

const secret = Buffer.from('0123456789abcdef0123456789abcdef')

describe('DeduplicationIds', () => {
  it('is HMAC-SHA256 under the secret of content type, a NUL and the plaintext, in hex', () => {
    const ids = new DeduplicationIds(secret)
    const expected = createHmac('sha256', secret).update('json\u0000{"a":1}').digest('hex')
    expect(ids.idFor('json', '{"a":1}')).toBe(expected)
    expect(ids.idFor('bytes', new Uint8Array([1, 2]))).toMatch(/^[0-9a-f]{64}$/)
  })

  it('equal jobs, equal ids; different content types or secrets, different ids', () => {
    const ids = new DeduplicationIds(secret)
    expect(ids.idFor('text', 'job')).toBe(ids.idFor('text', 'job'))
    expect(ids.idFor('text', '1')).not.toBe(ids.idFor('json', '1'))
    expect(new DeduplicationIds(Buffer.from('another secret, 16+ bytes')).idFor('text', 'job')).not.toBe(
      ids.idFor('text', 'job'),
    )
  })

  it('is not an unkeyed hash of the payload', () => {
    const id = new DeduplicationIds(secret).idFor('text', 'job')
    expect(id).not.toBe(createHash('sha256').update('job').digest('hex'))
    expect(id).not.toBe(createHash('sha256').update('text\u0000job').digest('hex'))
  })

  it('the caller may wipe its secret after construction; the key never serialises', () => {
    const mine = Buffer.from(secret)
    const ids = new DeduplicationIds(mine)
    const before = ids.idFor('text', 'job')
    mine.fill(0)
    expect(ids.idFor('text', 'job')).toBe(before)
    expect(JSON.stringify(ids)).toBe('{"key":"[redacted]"}')
  })
})
