import { SqsEnvelopeError } from '@sqs-envelope/core'
import { CommanderError, InvalidArgumentError } from 'commander'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { clientConfig, MISSING_REGION, resolveAws } from './aws.ts'
import {
  CommandFailure,
  collect,
  describeError,
  describeHandlerError,
  durationMs,
  EXIT,
  exitStatus,
  integerIn,
  keyValue,
} from './common.ts'

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

describe('describeHandlerError (run prints failed jobs)', () => {
  const leaky = Object.assign(new TypeError('card 4111111111111111 declined'), { code: 'E_CARD' })

  it('gives the name and the code, never the message, which may quote the payload', () => {
    expect(describeHandlerError(leaky, false)).toBe('TypeError E_CARD')
    expect(describeHandlerError(new Error('payload text'), false)).toBe('Error')
    expect(describeHandlerError(new SqsEnvelopeError('HANDLER_TIMEOUT', 'after 5 s'), false)).toBe(
      'SqsEnvelopeError HANDLER_TIMEOUT',
    )
    expect(describeHandlerError('a thrown string with payload', false)).toBe('thrown string')
  })

  it('adds the message when verbose', () => {
    expect(describeHandlerError(leaky, true)).toBe('TypeError E_CARD: card 4111111111111111 declined')
    expect(describeHandlerError('thrown text', true)).toBe('thrown string: thrown text')
  })
})

describe('exitStatus', () => {
  it('usage (2) for parser errors and options a library refuses; a failure keeps its own; anything else 1', () => {
    expect(exitStatus(new CommanderError(1, 'commander.unknownOption', 'unknown option'))).toBe(EXIT.usage)
    expect(exitStatus(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toBe(EXIT.ok)
    expect(exitStatus(new SqsEnvelopeError('OPTION_INVALID', 'heartbeatInterval needs visibilityTimeout'))).toBe(
      EXIT.usage,
    )
    expect(exitStatus(new CommandFailure('no AWS region', EXIT.usage))).toBe(EXIT.usage)
    expect(exitStatus(new CommandFailure('cannot receive'))).toBe(EXIT.failed)
    expect(exitStatus(new SqsEnvelopeError('SQS_REJECTED', 'refused'))).toBe(EXIT.failed)
    expect(exitStatus(new Error('surprise'))).toBe(EXIT.failed)
  })
})

describe('keyValue and __proto__', () => {
  it('keeps __proto__ as an own entry of a record without a prototype, for the library to refuse by name', () => {
    const parsed = keyValue('--context')('__proto__=x', keyValue('--context')('a=1'))
    expect(Object.getPrototypeOf(parsed)).toBeNull()
    expect(Object.keys(parsed)).toEqual(['a', '__proto__'])
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toBe('x')
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })
})

describe('resolveAws', () => {
  it('says which setting is missing when no region is found anywhere (exit 2)', async () => {
    const names = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE'] as const
    const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]))
    try {
      for (const name of names) delete process.env[name]
      process.env.AWS_CONFIG_FILE = '/nonexistent/sqs-envelope-test-config'
      const failure = await resolveAws({}).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(CommandFailure)
      expect((failure as CommandFailure).exitCode).toBe(EXIT.usage)
      expect((failure as CommandFailure).message).toBe(MISSING_REGION)
      process.env.AWS_DEFAULT_REGION = 'eu-west-3'
      expect(await resolveAws({ endpointUrl: 'http://localhost:4566' })).toEqual({
        region: 'eu-west-3',
        endpoint: 'http://localhost:4566',
      })
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    }
  })
})
