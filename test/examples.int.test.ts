// The examples run as a user runs them: child processes with the SDK's environment pointing at
// LocalStack, each test on its own queues and key. The TypeScript ones run from sources (no build).
import type { ChildProcess } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { repositoryRoot } from './cli-support.ts'
import { queueDepth, waitFor } from './consumer-support.ts'
import { awsEnv, finished, follow, jsonLines, startNode, startProcess } from './harness.ts'
import { recipePython } from './interop/python.ts'
import { localstackFixture } from './support.ts'

const { target, sqs, newKey, newQueue } = localstackFixture()

function example(path: string, env: Record<string, string>, args: readonly string[] = []): ChildProcess {
  return startNode(path, args, { cwd: repositoryRoot, env: { ...awsEnv(target), ...env } })
}

async function python(script: string, args: readonly string[]): Promise<ChildProcess> {
  return startProcess(await recipePython(), [`examples/python/${script}`, ...args], {
    cwd: repositoryRoot,
    // boto3 reads AWS_DEFAULT_REGION (the JavaScript SDK reads AWS_REGION).
    env: { ...awsEnv(target), AWS_DEFAULT_REGION: target.region },
  })
}

/** Starts the TypeScript worker; `lines()` is what it printed so far. */
function startWorker(env: Record<string, string>) {
  const child = example('examples/worker/src/main.ts', env)
  const output = follow(child)
  const exited = output.result.then((r) => r.code)
  return { child, exited, lines: () => jsonLines(output.stdout()), stderr: output.stderr }
}

describe('examples against LocalStack', () => {
  it('TypeScript publisher → TypeScript worker, standard and FIFO queues; the worker stops on SIGTERM with exit 0', async () => {
    const key = await newKey({ aliasPrefix: 'examples' })
    const queue = await newQueue({ prefix: 'examples', deadLetterQueue: true })
    const fifo = await newQueue({ prefix: 'examples', fifo: true })
    const env = {
      QUEUE_URL: queue.queueUrl,
      FIFO_QUEUE_URL: fifo.queueUrl,
      KMS_KEY_ID: key.alias as string,
      ORDERS: '12',
    }
    const published = await finished(example('examples/publisher/src/main.ts', env))
    expect(published.stderr).toBe('')
    expect(published.code).toBe(0)
    const sent = jsonLines(published.stdout)
    expect(sent).toHaveLength(24)

    const worker = startWorker({ ...env, KMS_KEY_ARN: key.keyArn })
    await waitFor(() => worker.lines().length >= 24, 30_000, 'the worker to handle every order')
    worker.child.kill('SIGTERM')
    expect(await worker.exited).toBe(0)
    expect(worker.stderr()).toContain('SIGTERM: stopping')
    const handled = worker.lines()
    expect(handled.map((h) => `${h.queue}/${h.orderId}`).sort()).toEqual(
      sent.map((s) => `${s.queue}/${s.orderId}`).sort(),
    )
    // FIFO: the orders of each customer (the publisher's customer of order-N is customer-((N-1) mod 3 + 1))
    // were handled in the order they were published.
    const fifoOrdersOf = (list: Record<string, string | number>[], customer: number) =>
      list
        .filter((r) => r.queue === 'fifo' && (Number(String(r.orderId).slice('order-'.length)) - 1) % 3 === customer)
        .map((r) => r.orderId)
    for (const customer of [0, 1, 2]) {
      expect(fifoOrdersOf(handled, customer)).toHaveLength(4)
      expect(fifoOrdersOf(handled, customer)).toEqual(fifoOrdersOf(sent, customer))
    }
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
    await fifo.delete()
  }, 90_000)

  it('TypeScript publisher → Python worker (recipe style): it opens every order, encryption context included', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'examples-to-python' })
    const published = await finished(
      example('examples/publisher/src/main.ts', { QUEUE_URL: queue.queueUrl, KMS_KEY_ID: key.keyId, ORDERS: '5' }),
    )
    expect(published.code).toBe(0)
    const result = await finished(await python('worker.py', ['--queue-url', queue.queueUrl, '--orders', '5']))
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const handled = jsonLines(result.stdout)
    expect(handled.map((h) => h.orderId).sort()).toEqual(
      jsonLines(published.stdout)
        .map((s) => s.orderId)
        .sort(),
    )
    expect(handled.every((h) => h.keyArn === key.keyArn)).toBe(true)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 180_000)

  it('Python publisher (recipe style, one data key per message) → TypeScript worker', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'examples-from-python' })
    const published = await finished(
      await python('publisher.py', ['--queue-url', queue.queueUrl, '--key-id', key.keyId, '--orders', '5']),
    )
    expect(published.stderr).toBe('')
    expect(published.code).toBe(0)
    const sent = jsonLines(published.stdout)
    expect(sent).toHaveLength(5)
    const worker = startWorker({ QUEUE_URL: queue.queueUrl, KMS_KEY_ARN: key.keyArn })
    await waitFor(() => worker.lines().length >= 5, 30_000, 'the worker to handle the Python orders')
    worker.child.kill('SIGTERM')
    expect(await worker.exited).toBe(0)
    expect(
      worker
        .lines()
        .map((h) => h.messageId)
        .sort(),
    ).toEqual(sent.map((s) => s.messageId).sort())
    await queue.delete()
  }, 180_000)

  it('the demo on its own queue and key: every job handled, report printed, exit 0', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'examples-demo', deadLetterQueue: true })
    const result = await finished(
      example('examples/demo/src/main.ts', {
        LOCALSTACK_ENDPOINT: target.endpoint,
        DEMO_QUEUE_URL: queue.queueUrl,
        DEMO_KMS_KEY_ID: key.keyId,
        DEMO_JOBS: '400',
      }),
    )
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/jobs handled {5}400 of 400 in/)
    expect(result.stdout).toMatch(/KMS calls {8}2 \(1 GenerateDataKey \+ 1 Decrypt/)
    expect(result.stdout).toContain('one key per msg  800 calls')
    expect(result.stdout).toContain('quarantined      0')
    expect(result.stdout).toContain('demo passed: every job was handled')
    await queue.delete()
  }, 90_000)
})
