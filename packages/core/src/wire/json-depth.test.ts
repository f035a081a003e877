import { describe, expect, it } from 'vitest'
import { expectFailure } from '../test-support/failure.ts'
import { seededRandom } from '../test-support/seeded-random.ts'
import { MAX_BODY_BYTES, parseBody } from './body.ts'
import { jsonDepth } from './json-depth.ts'

describe('jsonDepth (the validator that spares JSON.parse the deep cases)', () => {
  it.each([
    ['1', 0],
    [' "a" ', 0],
    ['[]', 1],
    ['{}', 1],
    ['{"a": [1, {"b": null}]}', 3],
    ['[[[[]]]]', 4],
    ['-0.5e+10', 0],
    ['"\\u00e9\\n\\"\\\\\\/"', 0],
    ['{"a":1,"a":2}', 1],
    ['{"a":{"a":{"a":1}}}', 3],
    ['{ "a" : { "a" : {"b":[{"a":{"a":{}}}]}}}', 7],
    ['[{"a":{"a":1},"b":{"a":{"a":[]}}}]', 5],
  ])('measures %s as depth %i', (input, depth) => {
    expect(() => JSON.parse(input)).not.toThrow()
    expect(jsonDepth(input)).toBe(depth)
  })

  it('accepts exactly what JSON.parse accepts, on 20,000 random short texts', () => {
    const random = seededRandom(9)
    const pieces = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '"a"',
      '\\',
      '\\u',
      '00e9',
      '\\n',
      '1',
      '-',
      '0',
      '.',
      'e',
      '+',
      'true',
      'fals',
      'null',
      ' ',
      '\t',
      '\u0001',
      '\u2028',
      'x',
    ]
    let valid = 0
    for (let i = 0; i < 20_000; i++) {
      let input = ''
      const length = 1 + Math.floor(random() * 8)
      for (let j = 0; j < length; j++) input += pieces[Math.floor(random() * pieces.length)]
      let parses = true
      try {
        JSON.parse(input)
      } catch {
        parses = false
      }
      if (parses) valid++
      if (jsonDepth(input) >= 0 !== parses) throw new Error(`disagrees with JSON.parse on ${JSON.stringify(input)}`)
    }
    expect(valid).toBeGreaterThan(500)
  })

  it('rejects a megabyte of nesting as BODY_NOT_JSON, or BODY_SHAPE once it is closed, without recursion', () => {
    const half = (MAX_BODY_BYTES - 2) / 2
    expectFailure(() => parseBody('['.repeat(MAX_BODY_BYTES)), 'BODY_NOT_JSON')
    expectFailure(() => parseBody('['.repeat(half) + ']'.repeat(half)), 'BODY_SHAPE')
    expectFailure(() => parseBody(`{"a":${'['.repeat(half - 4)}${']'.repeat(half - 4)}}`), 'BODY_SHAPE')
    const levels = Math.floor((MAX_BODY_BYTES - 1) / 6)
    expectFailure(() => parseBody('{"a":'.repeat(Math.floor(MAX_BODY_BYTES / 5))), 'BODY_NOT_JSON')
    expectFailure(() => parseBody(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`), 'BODY_SHAPE')
    expectFailure(() => parseBody(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels - 1)}]`), 'BODY_NOT_JSON')
    expect(
      jsonDepth(`${'{ "a" : '.repeat(1000)}[${'{"b":'.repeat(1000)}1${'}'.repeat(1000)}]${'}'.repeat(1000)}`),
    ).toBe(2001)
  })

  it('agrees with JSON.parse, and on the depth, on 5,000 random nestings of objects and arrays', () => {
    const random = seededRandom(17)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const names = ['"a"', '"a"', '"b"', '"\\u0061"', '""']
    const gaps = ['', '', ' ', '\n ']
    // A value nested up to `depth` levels, often repeating the same member opener; `spoil` may break it.
    const value = (depth: number): string => {
      if (depth === 0 || random() < 0.15) return pick(['1', '"x"', '{}', '[]', 'null'])
      if (random() < 0.3) {
        const items = Array.from({ length: 1 + Math.floor(random() * 2) }, () => value(depth - 1))
        return `[${items.join(',')}]`
      }
      const name = pick(names)
      const gap = pick(gaps)
      const members = [`${gap}${name}${gap}:${gap}${value(depth - 1)}`]
      if (random() < 0.3) members.push(`${pick(names)}:${value(depth - 1)}`)
      return `{${members.join(',')}${gap}}`
    }
    // For valid JSON, the depth is the deepest bracket outside strings.
    const bracketDepth = (text: string): number => {
      let depth = 0
      let deepest = 0
      for (let i = 0; i < text.length; i++) {
        const c = text[i]
        if (c === '"') {
          for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++
        } else if (c === '{' || c === '[') {
          deepest = Math.max(deepest, ++depth)
        } else if (c === '}' || c === ']') {
          depth--
        }
      }
      return deepest
    }
    const spoilers = [
      (t: string) => t,
      (t: string) => t.slice(0, -1),
      (t: string) => `${t.slice(0, -1)}]`,
      (t: string) => t.replace('}', ''),
      (t: string) => t.replace(':', ','),
    ]
    let valid = 0
    for (let i = 0; i < 5000; i++) {
      const input = pick(spoilers)(value(1 + Math.floor(random() * 12)))
      let parses = true
      try {
        JSON.parse(input)
      } catch {
        parses = false
      }
      if (parses) valid++
      const expected = parses ? bracketDepth(input) : -1
      if (jsonDepth(input) !== expected) throw new Error(`not depth ${expected}: ${JSON.stringify(input)}`)
    }
    expect(valid).toBeGreaterThan(1000)
  })
})
