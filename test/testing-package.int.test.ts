import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { GenerateDataKeyCommand } from '@aws-sdk/client-kms'
import { GetQueueAttributesCommand, GetQueueUrlCommand, ListQueuesCommand } from '@aws-sdk/client-sqs'
import {
  bundledLocalStackDir,
  containerEngine,
  createKmsClient,
  createSqsClient,
  createTestKey,
  createTestQueue,
  findLocalStackDir,
  freePort,
  LocalStackError,
  type LocalStackErrorCode,
  type LocalStackTarget,
  localStackVersion,
  type StartedLocalStack,
  type StartLocalStackOptions,
  startLocalStack,
  uniqueName,
} from '@sqs-envelope/testing'
import { probeHealth } from '@sqs-envelope/testing/readiness'
import { afterAll, describe, expect, expectTypeOf, it, type TestContext } from 'vitest'
import { localstack } from './support.ts'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))
const repoLocalStackDir = join(repo, 'localstack')

const { target, sqs, kms } = localstack()
afterAll(() => {
  sqs.destroy()
  kms.destroy()
})

function localStackOnly(ctx: TestContext): void {
  ctx.skip(!target.isLocalStack, `LocalStack-only: ${target.endpoint} is another AWS-compatible endpoint`)
}

async function needsEngine(ctx: TestContext): Promise<void> {
  const engine = await containerEngine()
  ctx.skip(!engine.answers, `needs a container engine (none answers at ${engine.where})`)
}

/**
 * A loopback HTTP proxy to the suite's endpoint that answers 404 for /_localstack/* (as any
 * non-LocalStack endpoint would) and, when `failAws`, 503 for every AWS call.
 */
async function hidingProxy(options: { failAws?: boolean } = {}): Promise<{ url: string; server: Server }> {
  const upstream = new URL(target.endpoint)
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/_localstack')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    if (options.failAws) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable')
      return
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      },
    )
    forward.on('error', () => res.writeHead(502).end())
    req.pipe(forward)
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  if (typeof address !== 'object' || !address) throw new Error('proxy has no address')
  return { url: `http://127.0.0.1:${address.port}`, server }
}

describe('@sqs-envelope/testing: where LocalStack comes from', () => {
  it('reads the pinned version from the version file shipped in the package', () => {
    expect(findLocalStackDir()).toBe(bundledLocalStackDir)
    expect(localStackVersion()).toBe(readFileSync(join(bundledLocalStackDir, 'version'), 'utf8').trim())
    expect(localStackVersion()).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it("the repository's localstack/ reuses the package's version, constraints and init hooks (no second copy)", () => {
    for (const name of ['version', 'constraints.txt', 'init', 'build-image.sh']) {
      expect(realpathSync(join(repoLocalStackDir, name))).toBe(realpathSync(join(bundledLocalStackDir, name)))
    }
    expect(localStackVersion(repoLocalStackDir)).toBe(localStackVersion())
  })

  it('a named folder without a version file is LOCALSTACK_NOT_FOUND, with no search elsewhere', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-localstack-'))
    expect(findLocalStackDir(empty)).toBeUndefined()
    expect(() => localStackVersion(empty)).toThrow(expect.objectContaining({ code: 'LOCALSTACK_NOT_FOUND' }))
  })

  it('without a launcher, host mode fails with a stable code and says what to install', async () => {
    const noLauncher = mkdtempSync(join(tmpdir(), 'no-launcher-'))
    writeFileSync(join(noLauncher, 'version'), localStackVersion())
    const error = await startLocalStack({ mode: 'host', localstackDir: noLauncher }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LocalStackError)
    expect((error as LocalStackError).code).toBe('LOCALSTACK_UNAVAILABLE')
    expect((error as Error).message).toContain('LOCALSTACK_ENDPOINT')
    expect((error as Error).message).toContain('container engine')
    expect((error as Error).message).toContain('python3.13')
  })

  it('an unknown mode, from the option or SQS_ENVELOPE_LOCALSTACK_MODE, is LOCALSTACK_BAD_OPTION', async () => {
    await expect(startLocalStack({ mode: 'docker' as 'host' })).rejects.toMatchObject({
      code: 'LOCALSTACK_BAD_OPTION',
      message: expect.stringContaining('"docker"'),
    })
    const saved = process.env.SQS_ENVELOPE_LOCALSTACK_MODE
    process.env.SQS_ENVELOPE_LOCALSTACK_MODE = 'podman'
    try {
      await expect(startLocalStack()).rejects.toMatchObject({ code: 'LOCALSTACK_BAD_OPTION' })
    } finally {
      if (saved === undefined) delete process.env.SQS_ENVELOPE_LOCALSTACK_MODE
      else process.env.SQS_ENVELOPE_LOCALSTACK_MODE = saved
    }
  })

  it('options out of range are LOCALSTACK_BAD_OPTION, naming the option, the expectation and the value', async () => {
    await expect(startLocalStack({ mode: 'host', port: 70000 })).rejects.toMatchObject({
      code: 'LOCALSTACK_BAD_OPTION',
      message: 'port must be an integer from 1 to 65535; received 70000',
    })
    await expect(startLocalStack({ mode: 'host', startupTimeoutMs: -1 })).rejects.toMatchObject({
      code: 'LOCALSTACK_BAD_OPTION',
      message: expect.stringContaining('startupTimeoutMs must be a positive integer'),
    })
    await expect(startLocalStack({ mode: 'endpoint', endpoint: '127.0.0.1:4566' })).rejects.toMatchObject({
      code: 'LOCALSTACK_BAD_OPTION',
      message: expect.stringContaining('received "127.0.0.1:4566"'),
    })
  })
})

describe('@sqs-envelope/testing: endpoint mode', () => {
  it('uses a running endpoint and stop() leaves it running', async () => {
    const started = await startLocalStack({ mode: 'endpoint', endpoint: target.endpoint })
    expect(started).toMatchObject({ endpoint: target.endpoint, mode: 'endpoint', isLocalStack: target.isLocalStack })
    await started.stop()
    const after = createSqsClient(started)
    try {
      const listed = await after.send(new ListQueuesCommand({ MaxResults: 1 }))
      expect(listed.$metadata.httpStatusCode).toBe(200)
    } finally {
      after.destroy()
    }
  })

  it('without an endpoint is LOCALSTACK_UNAVAILABLE', async () => {
    const saved = process.env.LOCALSTACK_ENDPOINT
    delete process.env.LOCALSTACK_ENDPOINT
    try {
      await expect(startLocalStack({ mode: 'endpoint' })).rejects.toMatchObject({ code: 'LOCALSTACK_UNAVAILABLE' })
    } finally {
      if (saved !== undefined) process.env.LOCALSTACK_ENDPOINT = saved
    }
  })

  it('an endpoint without /_localstack/health is ready once ListQueues and ListKeys answer; SQS and KMS work through it', async () => {
    const proxy = await hidingProxy()
    try {
      expect(await probeHealth(proxy.url)).toMatchObject({ reachable: true, localstack: false, healthy: false })
      const started = await startLocalStack({ mode: 'endpoint', endpoint: proxy.url, startupTimeoutMs: 20_000 })
      expect(started).toMatchObject({ endpoint: proxy.url, mode: 'endpoint', isLocalStack: false })
      const viaSqs = createSqsClient(started)
      const viaKms = createKmsClient(started)
      try {
        const queue = await createTestQueue(viaSqs)
        const { QueueUrl } = await viaSqs.send(new GetQueueUrlCommand({ QueueName: queue.queueUrl.split('/').at(-1) }))
        expect(QueueUrl).toBe(queue.queueUrl)
        const key = await createTestKey(viaKms)
        const generated = await viaKms.send(new GenerateDataKeyCommand({ KeyId: key.keyId, KeySpec: 'AES_256' }))
        expect(generated.Plaintext).toHaveLength(32)
        await queue.delete()
      } finally {
        viaSqs.destroy()
        viaKms.destroy()
        await started.stop()
      }
    } finally {
      proxy.server.close()
    }
  })

  it('an endpoint without /_localstack/health whose SQS and KMS fail is LOCALSTACK_UNAVAILABLE, saying why', async () => {
    const proxy = await hidingProxy({ failAws: true })
    try {
      const error = await startLocalStack({ mode: 'endpoint', endpoint: proxy.url, startupTimeoutMs: 1500 }).catch(
        (e: unknown) => e,
      )
      expect(error).toMatchObject({ code: 'LOCALSTACK_UNAVAILABLE' })
      expect((error as Error).message).toContain('SQS/KMS check failed')
    } finally {
      proxy.server.close()
    }
  })
})

describe('@sqs-envelope/testing: container mode', () => {
  it('starts the pinned image with the init hooks run before it returns; queue URLs name the mapped port', {
    timeout: 180_000,
  }, async (ctx) => {
    await needsEngine(ctx)
    await using started = await startLocalStack({ mode: 'container', startupTimeoutMs: 150_000 })
    expect(started).toMatchObject({ mode: 'container', isLocalStack: true })
    const init = (await (await fetch(new URL('/_localstack/init/ready', started.endpoint))).json()) as {
      completed: boolean
    }
    expect(init.completed).toBe(true)
    const client = createSqsClient(started)
    try {
      // created by the ready.d hook, so it exists when startLocalStack resolves
      const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'sqs-envelope-demo' }))
      expect(QueueUrl).toBe(`${started.endpoint}/queue/us-east-1/000000000000/sqs-envelope-demo`)
    } finally {
      client.destroy()
    }
  })

  it('mode "container" never falls back: an image that is absent and cannot be pulled is LOCALSTACK_CONTAINER_FAILED', {
    timeout: 120_000,
  }, async (ctx) => {
    await needsEngine(ctx)
    const image = `localstack/localstack:0.0.0-${uniqueName('absent')}`
    const error = await startLocalStack({ mode: 'container', image, startupTimeoutMs: 60_000 }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'LOCALSTACK_CONTAINER_FAILED' })
    expect((error as Error).message).toContain(image)
    expect((error as Error).message).toContain('build-image.sh')
  })

  it('mode "auto" with an engine that cannot run the image says why before falling back to host mode (LocalStack-only: reuses the suite LocalStack as host mode)', {
    timeout: 120_000,
  }, async (ctx) => {
    localStackOnly(ctx)
    await needsEngine(ctx)
    const endpoint = new URL(target.endpoint)
    ctx.skip(endpoint.hostname !== '127.0.0.1', `host mode listens on 127.0.0.1, the suite's LocalStack is ${endpoint}`)
    const saved = process.env.LOCALSTACK_ENDPOINT
    delete process.env.LOCALSTACK_ENDPOINT
    const lines: string[] = []
    try {
      const image = `localstack/localstack:0.0.0-${uniqueName('absent')}`
      // host mode on the suite's port finds a healthy LocalStack there and reuses it (stop() leaves it)
      await using started = await startLocalStack({
        mode: 'auto',
        image,
        port: Number(endpoint.port),
        localstackDir: repoLocalStackDir,
        log: (line) => lines.push(line),
      })
      expect(started.mode).toBe('host')
      expect(started.fallbackReason).toContain(image)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain('container mode failed, so using host mode instead')
      expect(lines[0]).toContain('SQS_ENVELOPE_LOCALSTACK_MODE=container')
    } finally {
      if (saved !== undefined) process.env.LOCALSTACK_ENDPOINT = saved
    }
    expect((await probeHealth(target.endpoint)).healthy).toBe(true)
  })
})

describe('@sqs-envelope/testing: helpers', () => {
  it('public types: modes, error codes, and a started LocalStack is a client target', () => {
    expectTypeOf<StartedLocalStack['mode']>().toEqualTypeOf<'endpoint' | 'container' | 'host'>()
    expectTypeOf<NonNullable<StartLocalStackOptions['mode']>>().toEqualTypeOf<
      'auto' | 'endpoint' | 'container' | 'host'
    >()
    expectTypeOf<StartedLocalStack>().toExtend<LocalStackTarget>()
    expectTypeOf<StartedLocalStack>().toExtend<AsyncDisposable>()
    expectTypeOf(startLocalStack).returns.resolves.toEqualTypeOf<StartedLocalStack>()
    expectTypeOf<LocalStackError['code']>().toEqualTypeOf<LocalStackErrorCode>()
    expectTypeOf<'LOCALSTACK_CONTAINER_FAILED'>().toExtend<LocalStackErrorCode>()
    expect(new LocalStackError('LOCALSTACK_BAD_OPTION', 'x')).toMatchObject({ name: 'LocalStackError' })
  })

  it('names are unique and within the SQS limit', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName('a-rather-long-prefix-for-a-queue-name')))
    expect(names.size).toBe(1000)
    for (const name of names) expect(name.length).toBeLessThanOrEqual(75)
  })

  it('createTestQueue makes a FIFO queue with a FIFO DLQ', async () => {
    const queue = await createTestQueue(sqs, { fifo: true, deadLetterQueue: true })
    expect(queue.queueUrl.endsWith('.fifo')).toBe(true)
    expect(queue.deadLetterQueue?.queueUrl.endsWith('-dlq.fifo')).toBe(true)
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['FifoQueue', 'RedrivePolicy'] }),
    )
    expect(Attributes?.FifoQueue).toBe('true')
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 5 })
    await queue.delete()
  })
})

/** pnpm as the suite runs it (npm_execpath under `pnpm run`), else from PATH. */
function pnpm(args: string[], cwd: string, timeoutMs: number) {
  const execpath = process.env.npm_execpath
  const [cmd, pre] = execpath?.includes('pnpm') ? [process.execPath, [execpath]] : ['pnpm', []]
  return run(cmd, [...pre, ...args], { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 })
}

describe('the packed @sqs-envelope/testing in a project outside the repository', () => {
  it('installs from its tarball and starts LocalStack in host mode on its own port with its shipped launcher; SQS and KMS work; stop() ends it', {
    timeout: 20 * 60_000,
  }, async () => {
    const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'sqs-envelope-packed-')))
    try {
      const pkg = join(repo, 'packages', 'testing')
      await pnpm(['exec', 'tsc', '-b', 'packages/testing'], repo, 180_000)
      const packed = await pnpm(['pack', '--pack-destination', scratch, '--json'], pkg, 120_000)
      const tarball = (JSON.parse(packed.stdout) as { filename: string }).filename
      // a user's project: the testkit, and the AWS SDK clients it uses, in the ranges the testkit accepts
      const sdk = (
        JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
      ).dependencies
      const dependencies = {
        '@sqs-envelope/testing': `file:${tarball}`,
        '@aws-sdk/client-kms': sdk['@aws-sdk/client-kms'],
        '@aws-sdk/client-sqs': sdk['@aws-sdk/client-sqs'],
      }
      writeFileSync(
        join(scratch, 'package.json'),
        JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies }),
      )
      // the store and metadata cache the workspace already filled; the registry only for what is missing
      await pnpm(
        ['install', '--prefer-offline', '--ignore-workspace', '--config.confirmModulesPurge=false'],
        scratch,
        600_000,
      )
      const installed = join(scratch, 'node_modules', '@sqs-envelope', 'testing')
      for (const file of [
        'localstack/launcher.mjs',
        'localstack/version',
        'localstack/constraints.txt',
        'localstack/init/ready.d/10-demo-resources.py',
        'dist/index.js',
      ])
        expect(existsSync(join(installed, file)), file).toBe(true)
      // optional peers: not installed, and host mode must not need them
      expect(existsSync(join(scratch, 'node_modules', 'testcontainers'))).toBe(false)

      writeFileSync(
        join(scratch, 'check.mjs'),
        `import { bundledLocalStackDir, createKmsClient, createSqsClient, createTestKey, createTestQueue, startLocalStack } from '@sqs-envelope/testing'
import { GenerateDataKeyCommand, DecryptCommand } from '@aws-sdk/client-kms'
import { SendMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs'
const ls = await startLocalStack({ mode: 'host', port: Number(process.env.PORT), log: (l) => console.error(l) })
const sqs = createSqsClient(ls), kms = createKmsClient(ls)
const queue = await createTestQueue(sqs)
await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: 'packed' }))
const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, WaitTimeSeconds: 5 }))
const key = await createTestKey(kms)
const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: key.keyId, KeySpec: 'AES_256' }))
const back = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }))
sqs.destroy(); kms.destroy()
await ls.stop()
console.log(JSON.stringify({ dir: bundledLocalStackDir, endpoint: ls.endpoint, mode: ls.mode, queueUrl: queue.queueUrl,
  body: got.Messages?.[0]?.Body, sameKey: Buffer.from(back.Plaintext).equals(Buffer.from(dk.Plaintext)) }))
`,
      )
      const port = await freePort()
      // State (pid, log, filesystem root) in the scratch project; the virtualenv is the repository's
      // when installed, else the per-user one the package defaults to: no minutes-long pip install per run.
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PORT: String(port),
        SQS_ENVELOPE_LOCALSTACK_STATE: join(scratch, '.localstack-state'),
      }
      for (const name of [
        'LOCALSTACK_ENDPOINT',
        'SQS_ENVELOPE_LOCALSTACK_MODE',
        'SQS_ENVELOPE_LOCALSTACK_DIR',
        'SQS_ENVELOPE_LOCALSTACK_HOME',
        'LOCALSTACK_PORT',
      ])
        delete env[name]
      const repoVenv = join(repoLocalStackDir, '.venv')
      if (!env.SQS_ENVELOPE_LOCALSTACK_VENV && existsSync(join(repoVenv, '.sqs-envelope-installed')))
        env.SQS_ENVELOPE_LOCALSTACK_VENV = repoVenv
      const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: scratch, env, timeout: 18 * 60_000 })
      const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}')
      expect(result).toMatchObject({
        dir: realpathSync(join(installed, 'localstack')),
        endpoint: `http://127.0.0.1:${port}`,
        mode: 'host',
        body: 'packed',
        sameKey: true,
      })
      expect(result.queueUrl.startsWith(`http://127.0.0.1:${port}/`)).toBe(true)
      expect((await probeHealth(`http://127.0.0.1:${port}`)).reachable).toBe(false)
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
  })
})
