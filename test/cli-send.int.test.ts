// `send` refusing what it cannot send faithfully (issue 23 items 8 and 11), through the real bin.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, runCliWithEnv } from './cli-support.ts'
import { queueDepth } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

const { target, sqs, newKey, newQueue } = localstackFixture()
const dir = mkdtempSync(join(tmpdir(), 'sqs-envelope-cli-send-'))

afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A byte that is never UTF-8 (0xFF) and a UTF-8-encoded lone surrogate (U+D800 as ED A0 80). */
const INVALID = Buffer.from([0xff])
const LONE_SURROGATE = Buffer.from([0xed, 0xa0, 0x80])

describe('sqs-envelope send: input it refuses', () => {
  it('--lines FILE with a line that is not UTF-8: PAYLOAD_INVALID naming the line, exit 2, nothing sent', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-lines-utf8' })
    const file = join(dir, 'invalid.txt')
    writeFileSync(file, Buffer.concat([Buffer.from('fine\nbad '), INVALID, Buffer.from(' line\nfine too\n')]))
    const sent = await runCli(target, ['send', '--queue-url', queue.queueUrl, '--key-id', key.keyId, '--lines', file])
    expect(sent.code).toBe(2)
    expect(sent.stderr).toBe(
      `sqs-envelope: PAYLOAD_INVALID: line 2 of ${file} is not valid UTF-8 text; nothing was sent\n`,
    )
    expect(sent.stdout).toBe('')
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
  }, 60_000)

  it('--lines - with a lone surrogate on line 3: the lines before it are sent, none after; PAYLOAD_INVALID, exit 2', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-stdin-surrogate' })
    const input = Buffer.concat([Buffer.from('one\r\ntwo\nthree '), LONE_SURROGATE, Buffer.from('\nfour\n')])
    const sent = await runCliWithEnv(
      target,
      ['send', '--queue-url', queue.queueUrl, '--key-id', key.keyId, '--lines', '-'],
      {},
      input,
    )
    expect(sent.code).toBe(2)
    expect(sent.stdout).toMatch(/^sent 2, failed 0, /)
    expect(sent.stderr).toBe(
      'sqs-envelope: PAYLOAD_INVALID: line 3 of stdin is not valid UTF-8 text; reading stopped there: ' +
        'the lines before it were handled (see the summary), none after\n',
    )
    const received = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--wait-seconds', '1'])
    expect(received.stdout.split('\n').filter(Boolean).sort()).toEqual(['one', 'two'])
  }, 60_000)

  it('send with stdin that is not UTF-8: PAYLOAD_INVALID, exit 2, nothing sent (no U+FFFD in its place)', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-one-utf8' })
    const sent = await runCliWithEnv(
      target,
      ['send', '--queue-url', queue.queueUrl, '--key-id', key.keyId],
      {},
      Buffer.concat([Buffer.from('caf'), INVALID]),
    )
    expect(sent.code).toBe(2)
    expect(sent.stderr).toBe('sqs-envelope: PAYLOAD_INVALID: stdin is not valid UTF-8 text; nothing was sent\n')
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
  }, 60_000)

  it('send with no BODY and an empty stdin: exit 2, no empty job sent', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-empty-stdin' })
    const sent = await runCli(target, ['send', '--queue-url', queue.queueUrl, '--key-id', key.keyId], '')
    expect(sent.code).toBe(2)
    expect(sent.stderr).toBe('sqs-envelope: no message: BODY was not given and stdin is empty; nothing was sent\n')
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
  }, 60_000)

  it('send --context __proto__=x: usage error (exit 2) naming the key, nothing sent', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-send-proto' })
    const sent = await runCli(target, [
      'send',
      '--queue-url',
      queue.queueUrl,
      '--key-id',
      key.keyId,
      '--context',
      '__proto__=x',
      'job',
    ])
    expect(sent.code).toBe(2)
    expect(sent.stderr).toMatch(/^sqs-envelope: OPTION_INVALID: .*"__proto__"/)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
  }, 60_000)

  it('no region anywhere (no --region, AWS_REGION, AWS_DEFAULT_REGION or profile): each command says so and how to set it; exit 2', async () => {
    const noRegion = {
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: undefined,
      AWS_PROFILE: undefined,
      AWS_CONFIG_FILE: join(dir, 'no-such-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-such-credentials'),
    }
    const queueUrl = `${target.endpoint}/000000000000/cli-no-region`
    const handler = join(dir, 'handler.mjs')
    writeFileSync(handler, 'export default async () => {}\n')
    for (const args of [
      ['send', '--queue-url', queueUrl, '--key-id', 'alias/any', 'job'],
      ['send', '--queue-url', queueUrl, '--key-id', 'alias/any', '--lines', '-'],
      ['receive', '--queue-url', queueUrl],
      ['run', '--queue-url', queueUrl, '--handler', handler],
    ]) {
      const result = await runCliWithEnv(target, args, noRegion, 'job\n')
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr).toBe(
        'sqs-envelope: no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or give the profile a region in ~/.aws/config\n',
      )
    }
    // AWS_DEFAULT_REGION alone is enough (the JavaScript SDK does not read it; the CLI does).
    const withDefault = await runCliWithEnv(target, ['receive', '--queue-url', queueUrl], {
      ...noRegion,
      AWS_DEFAULT_REGION: target.region,
    })
    expect(withDefault.code).toBe(1)
    expect(withDefault.stderr).toMatch(/QueueDoesNotExist/)
  }, 60_000)
})
