import type { Message } from '@aws-sdk/client-sqs'
import { describe, expect, it } from 'vitest'
import { SeenMessages } from './seen.ts'

const message = (id: string, receipt: string): Message => ({ MessageId: id, ReceiptHandle: receipt })

describe('SeenMessages (receive prints each message once per call)', () => {
  it('splits a batch into new messages and repeats of earlier receipts', () => {
    const seen = new SeenMessages()
    const first = seen.split([message('a', 'a1'), message('b', 'b1')])
    expect(first.fresh.map((m) => m.ReceiptHandle)).toEqual(['a1', 'b1'])
    expect(first.repeats).toEqual([])
    const again = seen.split([message('a', 'a2'), message('c', 'c1'), message('b', 'b2')])
    expect(again.fresh.map((m) => m.ReceiptHandle)).toEqual(['c1'])
    expect(again.repeats.map((m) => m.ReceiptHandle)).toEqual(['a2', 'b2'])
  })

  it('a repeat gets the fate of its first receipt: deleted when that was deleted, else released', () => {
    const seen = new SeenMessages()
    const [a, b, c] = [message('a', 'a1'), message('b', 'b1'), message('c', 'c1')] as [Message, Message, Message]
    seen.split([a, b, c])
    seen.settle(a, 'delete')
    seen.settle(b, 'release')
    expect(seen.fateOf(message('a', 'a2'))).toBe('delete')
    expect(seen.fateOf(message('b', 'b2'))).toBe('release')
    // Not settled yet (its first receipt is still being handled): released, never deleted unprinted.
    expect(seen.fateOf(message('c', 'c2'))).toBe('release')
  })

  it('the same message twice in one batch counts once', () => {
    const { fresh, repeats } = new SeenMessages().split([message('a', 'a1'), message('a', 'a2')])
    expect(fresh.map((m) => m.ReceiptHandle)).toEqual(['a1'])
    expect(repeats.map((m) => m.ReceiptHandle)).toEqual(['a2'])
  })
})
