import { isSqsEnvelopeError } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import { CommandFailure, EXIT } from './common.ts'
import { decodeUtf8, NotUtf8, utf8Lines } from './text.ts'

async function lines(chunks: readonly (string | Buffer)[], name = 'input'): Promise<string[]> {
  const out: string[] = []
  for await (const line of utf8Lines(
    (async function* () {
      yield* chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))
    })(),
    name,
  )) {
    out.push(line)
  }
  return out
}

async function refusal(promise: Promise<unknown>): Promise<NotUtf8> {
  try {
    await promise
  } catch (error) {
    if (error instanceof NotUtf8) return error
    throw error
  }
  throw new Error('expected a NotUtf8 refusal')
}

describe('decodeUtf8', () => {
  it('decodes UTF-8 and keeps a leading BOM, as Buffer#toString did', () => {
    expect(decodeUtf8(Buffer.from('\ufeffcafé 🎉'), 'stdin')).toBe('\ufeffcafé 🎉')
  })

  it('refuses invalid UTF-8 and encoded lone surrogates with PAYLOAD_INVALID (exit 2), never U+FFFD', () => {
    for (const bytes of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xc0, 0xaf]]) {
      let caught: unknown
      try {
        decodeUtf8(Buffer.from([0x61, ...bytes]), 'stdin')
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(CommandFailure)
      expect((caught as CommandFailure).exitCode).toBe(EXIT.usage)
      expect((caught as CommandFailure).message).toBe(
        'PAYLOAD_INVALID: stdin is not valid UTF-8 text; nothing was sent',
      )
      const cause = (caught as CommandFailure).cause
      expect(isSqsEnvelopeError(cause) && cause.code).toBe('PAYLOAD_INVALID')
    }
  })
})

describe('utf8Lines', () => {
  it('splits on LF, CRLF and a lone CR, as readline did; keeps empty lines; a last line without a break counts', async () => {
    expect(await lines(['a\nb\r\nc\rd\n\ne'])).toEqual(['a', 'b', 'c', 'd', '', 'e'])
    expect(await lines(['a\n'])).toEqual(['a'])
    expect(await lines([])).toEqual([])
  })

  it('joins lines and characters split across chunks, and a CRLF split between two chunks is one break', async () => {
    const euro = Buffer.from('€')
    expect(
      await lines(['ab', 'c\r', '\nd', Buffer.concat([Buffer.from('x'), euro.subarray(0, 1)]), euro.subarray(1)]),
    ).toEqual(['abc', 'dx€'])
  })

  it('names the first line that is not UTF-8', async () => {
    const error = await refusal(lines(['ok\nalso ok\n', Buffer.from([0x62, 0xff, 0x0a]), 'later\n'], 'jobs.txt'))
    expect(error.where).toBe('line 3 of jobs.txt')
    expect(error.message).toBe('PAYLOAD_INVALID: line 3 of jobs.txt is not valid UTF-8 text; nothing was sent')
  })
})
