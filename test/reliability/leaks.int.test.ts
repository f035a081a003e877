// The leak search must be able to fail: each encoding of a secret, and a secret hidden in an error's
// cause, is found; a clean transcript is not flagged.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { encodings, findLeaks, Transcript } from './leaks.ts'

describe('leak search', () => {
  const key = randomBytes(32)

  it('finds a data key in every encoding it looks for, and the marker as text', () => {
    for (const encoded of encodings(key)) {
      expect(findLeaks(`log line: ${encoded} end`, 'MARKER-x', [key]), encoded).not.toEqual([])
    }
    expect(findLeaks('payload MARKER-x here', 'MARKER-x', [])).toEqual(['marker as "MARKER-x"…'])
    expect(findLeaks('nothing to see', 'MARKER-x', [key])).toEqual([])
  })

  it('a transcript records errors with their causes, details of log lines and diagnostics', () => {
    const transcript = new Transcript()
    transcript.add(new Error('outer', { cause: new Error(`inner ${key.toString('base64url')}`) }))
    expect(findLeaks(transcript.parts, 'MARKER-y', [key])).not.toEqual([])
    const clean = new Transcript()
    clean.logger.warn('retrying', { details: { hex: key.toString('hex') } })
    expect(findLeaks(clean.parts, 'MARKER-y', [key])).not.toEqual([])
  })
})
