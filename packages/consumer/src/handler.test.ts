import { describe, expect, it } from 'vitest'
import { acknowledgedIds } from './handler.ts'

const ids = ['a', 'b', 'c']

describe('acknowledgedIds (batch handler results, Lambda batchItemFailures shape)', () => {
  it('nothing returned acknowledges every job', () => {
    expect([...acknowledgedIds(ids, undefined)]).toEqual(ids)
    expect([...acknowledgedIds(ids, null)]).toEqual(ids)
  })

  it('acknowledges all but the failed ids', () => {
    expect([...acknowledgedIds(ids, { batchItemFailures: [{ itemIdentifier: 'b' }] })]).toEqual(['a', 'c'])
    expect([...acknowledgedIds(ids, { batchItemFailures: [] })]).toEqual(ids)
  })

  it('ignores identifiers that name no job of the batch', () => {
    expect([...acknowledgedIds(ids, { batchItemFailures: [{ itemIdentifier: 'zzz' }] })]).toEqual(ids)
  })

  it('a result of the wrong shape acknowledges nothing (the safe side)', () => {
    expect(acknowledgedIds(ids, { batchItemFailures: 'b' }).size).toBe(0)
    expect(acknowledgedIds(ids, { batchItemFailures: [{ itemIdentifier: 7 }] }).size).toBe(0)
    expect(acknowledgedIds(ids, { failures: [] }).size).toBe(0)
    expect(acknowledgedIds(ids, true).size).toBe(0)
  })
})
