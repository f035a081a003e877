import { SqsEnvelopeError } from '@sqs-envelope/core'
import { InvalidArgumentError } from 'commander'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { clientConfig } from './aws.ts'
import { collect, describeError, durationMs, EXIT, integerIn, keyValue } from './common.ts'

describe('option parsers', () => {
  it('durationMs reads ms, s, m and bare seconds', () => {
    const parse = durationMs('--drain-timeout')
    expect(parse('500ms')).toBe(500)
    expect(parse('10s')).toBe(10_000)
    expect(parse('2m')).toBe(120_000)
    expect(parse('1.5')).toBe(1500)
    expect(() => parse('soon')).toThrow(InvalidArgumentError)
    expect(() => parse('-1s')).toThrow('--drain-timeout must be a duration like 500ms, 10s or 2m; got "-1s".')
  })

  it('durationMs refuses what a timer cannot wait: a status interval of 0 would print without pause', () => {
    expect(durationMs('--drain-timeout')('0')).toBe(0)
    expect(() => durationMs('--status-interval', 1)('0ms')).toThrow(
      '--status-interval must be from 1ms to 2147483647ms (about 24 days); got "0ms".',
    )
    // 25 days: past 2^31 - 1 ms, a timer fires after 1 ms.
    expect(() => durationMs('--drain-timeout')('36000m')).toThrow(
      '--drain-timeout must be from 0ms to 2147483647ms (about 24 days); got "36000m".',
    )
  })

  it('keyValue collects repeated KEY=VALUE pairs; the value may contain =', () => {
    const parse = keyValue('--context')
    expect(parse('b=c=d', parse('a=1'))).toEqual({ a: '1', b: 'c=d' })
    expect(parse('empty=', undefined)).toEqual({ empty: '' })
    expect(() => parse('=x', undefined)).toThrow('--context takes KEY=VALUE; got "=x".')
    expect(() => parse('novalue', undefined)).toThrow(InvalidArgumentError)
  })

  it('integer parsers name the option, the range and the value', () => {
    expect(integerIn('--max', 1)('3')).toBe(3)
    expect(() => integerIn('--max', 1)('0')).toThrow('--max must be an integer from 1 to')
    expect(() => integerIn('--pollers', 1, 64)('65')).toThrow('--pollers must be an integer from 1 to 64; got "65".')
    expect(integerIn('--wait-seconds', 0, 20)('0')).toBe(0)
    expect(() => integerIn('--wait-seconds', 0, 20)('2.5')).toThrow(InvalidArgumentError)
  })

  it('collect appends', () => {
    expect(collect('b', collect('a', undefined))).toEqual(['a', 'b'])
  })
})

describe('clientConfig', () => {
  it('takes --region, then AWS_REGION, then AWS_DEFAULT_REGION (which the JavaScript SDK does not read)', () => {
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION }
    try {
      delete process.env.AWS_REGION
      process.env.AWS_DEFAULT_REGION = 'eu-west-3'
      expect(clientConfig({})).toEqual({ region: 'eu-west-3' })
      process.env.AWS_REGION = 'eu-west-1'
      expect(clientConfig({ endpointUrl: 'http://localhost:4566' })).toEqual({
        region: 'eu-west-1',
        endpoint: 'http://localhost:4566',
      })
      expect(clientConfig({ region: 'us-east-2' }).region).toBe('us-east-2')
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    }
  })
})

describe('describeError', () => {
  it('puts the stable code first', () => {
    expect(describeError(new SqsEnvelopeError('KMS_KEY_NOT_FOUND', 'no such key'))).toBe(
      'KMS_KEY_NOT_FOUND: no such key',
    )
    const aws = Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' })
    expect(describeError(aws)).toBe('QueueDoesNotExist: The specified queue does not exist.')
    expect(describeError('plain')).toBe('plain')
  })
})

describe('exit codes', () => {
  it('are literal constants', () => {
    expectTypeOf(EXIT.unopenable).toEqualTypeOf<3>()
    expect(EXIT).toEqual({ ok: 0, failed: 1, usage: 2, unopenable: 3 })
  })
})
