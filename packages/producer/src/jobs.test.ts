import { describe, expect, it } from 'vitest'
import { isMessage, isRefused, type PreparedJob, prepareJob, type RefusedJob } from './jobs.ts'

const standard = { fifo: false, maxMessageBytes: 1_048_576 }
const fifo = { fifo: true, maxMessageBytes: 1_048_576 }

function refused(job: unknown, queue = standard, contentType: 'text' | 'json' | 'bytes' = 'text'): [string, string] {
  const out = prepareJob(job, 0, contentType, queue)
  if (!isRefused(out)) throw new Error('accepted')
  return [out.code, out.message]
}

describe('prepareJob', () => {
  it('a malformed per-message encryption context refuses that job alone (it used to reject the whole send)', () => {
    expect(refused({ body: 'x', encryptionContext: { tenant: 1 } })).toEqual([
      'OPTION_INVALID',
      'encryptionContext must have a string value under "tenant"',
    ])
    const out = prepareJob({ body: 'x', encryptionContext: { tenant: 't1' } }, 0, 'text', standard) as PreparedJob
    // Version, content type and context attributes: name + data type + value of each.
    const expected =
      'SqsEnvelope.Version'.length +
      6 +
      1 +
      'SqsEnvelope.ContentType'.length +
      6 +
      'text/plain; charset=utf-8'.length +
      'SqsEnvelope.Context'.length +
      6 +
      '{"tenant":"t1"}'.length
    expect(out.contextAttributeBytes).toBe(expected)
    expect((prepareJob('x', 0, 'text', standard) as PreparedJob).contextAttributeBytes).toBeUndefined()
  })

  it('a string is a text payload; its UTF-8 length is measured', () => {
    const out = prepareJob('ünï', 3, 'text', standard) as PreparedJob
    expect(out).toMatchObject({ index: 3, contentType: 'text', plaintext: 'ünï', plaintextBytes: 5, attributeCount: 0 })
  })

  it('a json payload is stringified once; a message overrides the content type', () => {
    expect(prepareJob({ a: 1 }, 0, 'json', standard)).toMatchObject({ plaintext: '{"a":1}', contentType: 'json' })
    expect(prepareJob({ body: new Uint8Array(3), contentType: 'bytes' }, 0, 'json', standard)).toMatchObject({
      contentType: 'bytes',
      plaintextBytes: 3,
    })
  })

  it('a message is an object of message fields with a body; anything else is a payload', () => {
    expect(isMessage({ body: 'x', id: '1' })).toBe(true)
    expect(isMessage({ body: 'x', other: 1 })).toBe(false)
    expect(isMessage({ id: '1' })).toBe(false)
    expect(isMessage([{ body: 'x' }])).toBe(false)
    expect(isMessage(new Uint8Array([1]))).toBe(false)
    // A JSON payload that looks like a message is wrapped.
    expect(prepareJob({ body: { body: 'x' } }, 0, 'json', standard)).toMatchObject({ plaintext: '{"body":"x"}' })
  })

  it('echoes the message id; refusals carry it too', () => {
    expect((prepareJob({ id: 'a-1', body: 'x' }, 0, 'text', standard) as PreparedJob).id).toBe('a-1')
    expect((prepareJob({ id: 'a-2', body: 'x', delaySeconds: 1000 }, 0, 'text', standard) as RefusedJob).id).toBe('a-2')
  })

  it.each([
    [{ body: 'x', delaySeconds: 901 }, 'delaySeconds must be an integer from 0 to 900; received 901'],
    [{ body: 'x', delaySeconds: 1.5 }, 'delaySeconds must be an integer from 0 to 900; received 1.5'],
    [{ body: 'x', groupId: 'g' }, 'groupId is for FIFO queues; this queue is a standard queue'],
    [{ body: 'x', deduplicationId: 'd' }, 'deduplicationId is for FIFO queues; this queue is a standard queue'],
    [{ body: 'x', id: 7 }, 'id must be a string; received 7'],
    [{ body: 'x', contentType: 'xml' }, 'contentType must be one of text, json, bytes; received "xml"'],
    // Described, never echoed: a function's source, a byte array's contents.
    [{ body: 'x', id: () => 'source text' }, 'id must be a string; received a function'],
    [{ body: 'x', id: new Uint8Array(4) }, 'id must be a string; received a Uint8Array of 4 bytes'],
  ])('%j → MESSAGE_INVALID', (job, message) => {
    expect(refused(job)).toEqual(['MESSAGE_INVALID', message])
  })

  it('FIFO: group id required and checked, per-message delay refused', () => {
    expect(refused({ body: 'x' }, fifo)).toEqual(['MESSAGE_INVALID', 'groupId is required on a FIFO queue'])
    expect(refused({ body: 'x', groupId: 'a b' }, fifo)[1]).toBe(
      'groupId must be 1–128 printable ASCII characters; received "a b"',
    )
    expect(refused({ body: 'x', groupId: 'g', deduplicationId: 'x'.repeat(129) }, fifo)[1]).toBe(
      'deduplicationId must be 1–128 printable ASCII characters; received a string of 129 characters',
    )
    expect(refused({ body: 'x', groupId: 'g', delaySeconds: 0 }, fifo)[0]).toBe('MESSAGE_INVALID')
    expect(prepareJob({ body: 'x', groupId: 'g', deduplicationId: 'd' }, 0, 'text', fifo)).toMatchObject({
      groupId: 'g',
      deduplicationId: 'd',
    })
  })

  it('attributes: envelope names reserved, 8 of the caller’s at most, names and types checked, bytes counted', () => {
    const a = { DataType: 'String', StringValue: 'v' }
    expect(refused({ body: 'x', messageAttributes: { 'SqsEnvelope.Context': a } })[0]).toBe('ATTRIBUTE_RESERVED')
    expect(refused({ body: 'x', messageAttributes: { 'SQSENVELOPE.x': a } })[0]).toBe('ATTRIBUTE_RESERVED')
    const nine = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`a${i}`, a]))
    expect(refused({ body: 'x', messageAttributes: nine })[0]).toBe('TOO_MANY_ATTRIBUTES')
    for (const name of ['AWS.x', 'amazon.y', '.lead', 'trail.', 'dou..ble', 'sp ace', '']) {
      expect(refused({ body: 'x', messageAttributes: { [name]: a } })[0]).toBe('MESSAGE_INVALID')
    }
    for (const value of [
      { DataType: 'String' },
      { DataType: 'Binary', StringValue: 'x' },
      { DataType: 'Text', StringValue: 'x' },
    ]) {
      expect(refused({ body: 'x', messageAttributes: { ok: value } })[0]).toBe('MESSAGE_INVALID')
    }
    const out = prepareJob(
      { body: 'x', messageAttributes: { n: { DataType: 'Number.int', StringValue: '42' } } },
      0,
      'text',
      standard,
    ) as PreparedJob
    expect([out.attributeCount, out.attributeBytes]).toEqual([1, 1 + 10 + 2])
  })

  it('a payload its content type cannot carry is PAYLOAD_UNSEALABLE', () => {
    expect(refused(42)[0]).toBe('PAYLOAD_UNSEALABLE')
    expect(refused('text', standard, 'bytes')[0]).toBe('PAYLOAD_UNSEALABLE')
    expect(refused({ body: () => 1 }, standard, 'json')[0]).toBe('PAYLOAD_UNSEALABLE')
  })

  it('an attribute value or type with a character SQS does not allow is ATTRIBUTE_INVALID, without echoing it', () => {
    const bad = [
      'lone \uD800 high',
      'lone \uDC00 low',
      'nul \u0000',
      'bell \u0007',
      '\uFFFE',
      '\uFFFF',
      'esc \u001b[31m',
    ]
    for (const value of bad) {
      const [code, message] = refused({
        body: 'x',
        messageAttributes: { tenant: { DataType: 'String', StringValue: value } },
      })
      expect([code, message.includes(value)]).toEqual(['ATTRIBUTE_INVALID', false])
      expect(message).toMatch(/^message attribute "tenant" has a character SQS does not allow/)
    }
    const badType = { DataType: 'String.\uD83D', StringValue: 'ok' }
    expect(refused({ body: 'x', messageAttributes: { tenant: badType } })[0]).toBe('ATTRIBUTE_INVALID')
    // Every character SQS allows passes: tab, LF, CR, the BMP outside surrogates, and pairs beyond it.
    const good = ['tab\tLF\nCR\r', ' ~\u00e9\uD7FF\uE000\uFFFD', '\uD83D\uDE00 \u{10FFFF}']
    for (const value of good) {
      const out = prepareJob(
        { body: 'x', messageAttributes: { tenant: { DataType: 'String', StringValue: value } } },
        0,
        'text',
        standard,
      )
      expect(isRefused(out)).toBe(false)
    }
    // Names are ASCII by SQS's rules, so a non-ASCII name is refused as before (MESSAGE_INVALID).
    expect(refused({ body: 'x', messageAttributes: { 'n\uD800': { DataType: 'String', StringValue: 'v' } } })[0]).toBe(
      'MESSAGE_INVALID',
    )
  })
})
