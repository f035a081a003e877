import { describe, expect, it } from 'vitest'
import { parseJsonPayload } from './send.ts'

describe('parseJsonPayload', () => {
  it('parses JSON', () => {
    expect(parseJsonPayload('{"orderId":1}')).toEqual({ orderId: 1 })
  })

  it('a line that is not JSON fails without quoting it (the error is printed on stderr)', () => {
    for (const text of ['card 4111111111111111', '{"card": "4111111111111111", oops}', '"4111111111111111']) {
      let message = ''
      try {
        parseJsonPayload(text)
      } catch (error) {
        message = (error as Error).message
      }
      expect(message).toMatch(/^invalid JSON( at position \d+)? \(\d+ characters\)$/)
      expect(message).not.toContain('4111')
    }
  })
})
