import { describe, expect, it } from 'vitest'
import { canonicalContext, contextProblem, MAX_CONTEXT_BYTES, missingContextKey } from './context.ts'

describe("the context attribute is checked before it reaches KMS, with the sealer's rules", () => {
  it('accepts string pairs, empty contexts and astral characters (well-formed surrogate pairs)', () => {
    expect(contextProblem({})).toBeUndefined()
    expect(contextProblem({ queue: 'arn:aws:sqs:us-east-1:000000000000:orders', emoji: '\u{1f600}' })).toBeUndefined()
  })

  it('rejects what is not an object of strings', () => {
    expect(contextProblem(null)).toBe('must be an object of string values')
    expect(contextProblem(['a'])).toBe('must be an object of string values')
    expect(contextProblem({ a: 1 })).toBe('must have a string value under "a"')
  })

  it('rejects an empty key', () => {
    expect(contextProblem({ '': 'x' })).toBe('must not have an empty key')
  })

  it('rejects lone surrogates in keys and values (KMS takes UTF-8; LocalStack answers 500)', () => {
    expect(contextProblem(JSON.parse('{"a":"\\ud800"}'))).toBe(
      'must have well-formed UTF-16 values; the value under "a" has a lone surrogate',
    )
    expect(contextProblem({ '\udc00x': 'v' })).toBe(
      'must have well-formed UTF-16 keys; "\\udc00x" holds a lone surrogate',
    )
  })

  it('rejects "__proto__", which a plain object cannot carry as data', () => {
    expect(contextProblem(JSON.parse('{"__proto__":"x"}'))).toBe('must not have the key "__proto__"')
  })

  it(`bounds keys and values to ${MAX_CONTEXT_BYTES} UTF-8 bytes in all, counting multi-byte characters exactly`, () => {
    expect(contextProblem({ k: 'v'.repeat(MAX_CONTEXT_BYTES - 1) })).toBeUndefined()
    expect(contextProblem({ k: 'v'.repeat(MAX_CONTEXT_BYTES) })).toBe(
      `must hold at most ${MAX_CONTEXT_BYTES} UTF-8 bytes of keys and values; received ${MAX_CONTEXT_BYTES + 1}`,
    )
    // 1 + 2,731 × 3 = 8,194 bytes: over the bound in only 2,732 UTF-16 code units.
    expect(contextProblem({ k: '€'.repeat(2731) })).toMatch(/received 8194$/)
    expect(contextProblem({ k: '€'.repeat(2730) })).toBeUndefined()
  })
})

describe('context helpers', () => {
  it('canonicalContext ignores key order', () => {
    expect(canonicalContext({ b: '2', a: '1' })).toBe(canonicalContext({ a: '1', b: '2' }))
    expect(canonicalContext(undefined)).toBe(canonicalContext({}))
  })

  it('missingContextKey reads only own pairs, never inherited properties', () => {
    expect(missingContextKey({ toString: 'x' }, {})).toBe('toString')
    expect(missingContextKey({ a: '1' }, { a: '1', b: '2' })).toBeUndefined()
    expect(missingContextKey({ a: '1' }, undefined)).toBe('a')
  })
})
