import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { KMSClient } from '@aws-sdk/client-kms'
import type { SQSClient } from '@aws-sdk/client-sqs'
import {
  createKmsClient,
  createSqsClient,
  createTestKey,
  type StartedLocalStack,
  startLocalStack,
  type TestKey,
} from '@sqs-envelope/testing'

/** The LocalStack the pipeline suites share: reached once per run, stopped (if this run started it) at the end. */
export interface BenchLocalStack {
  readonly target: StartedLocalStack
  readonly sqs: SQSClient
  readonly kms: KMSClient
  /** One KMS key for the run. */
  readonly key: TestKey
  /** The version `/_localstack/health` reports, or `unknown`. */
  readonly version: string
  /** The LocalStack server process whose CPU time is read, or why it cannot be. */
  readonly server: { readonly pid: number; readonly how: string } | { readonly pid: null; readonly why: string }
}

let shared: Promise<BenchLocalStack> | undefined

const repoLocalStackDir = fileURLToPath(new URL('../../../localstack', import.meta.url))

/**
 * Reaches LocalStack through `@sqs-envelope/testing` once per process: `endpoint` when given, else
 * LOCALSTACK_ENDPOINT, else a container or the host-mode launcher of this repository's `localstack/`.
 */
export function benchLocalStack(endpoint?: string): Promise<BenchLocalStack> {
  shared ??= (async () => {
    const target = await startLocalStack({
      localstackDir: process.env.SQS_ENVELOPE_LOCALSTACK_DIR ?? repoLocalStackDir,
      ...(endpoint === undefined ? {} : { endpoint, mode: 'endpoint' as const }),
    })
    const sqs = createSqsClient(target)
    const kms = createKmsClient(target)
    const key = await createTestKey(kms, { description: 'sqs-envelope bench' })
    let version = 'unknown'
    try {
      const health = (await (await fetch(`${target.endpoint}/_localstack/health`)).json()) as { version?: string }
      version = health.version ?? version
    } catch {}
    return { target, sqs, kms, key, version, server: findServer(target.endpoint) }
  })()
  return shared
}

/** Stops what `benchLocalStack()` started (nothing, when it reused a running LocalStack). */
export async function closeBenchLocalStack(): Promise<void> {
  if (!shared) return
  const started = shared
  shared = undefined
  const { target, sqs, kms, key } = await started
  await key.delete().catch(() => {})
  sqs.destroy()
  kms.destroy()
  await target.stop()
}

function processCommand(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ')
  } catch {
    return ''
  }
}

/** Inodes of sockets listening on `port` (IPv4 and IPv6), from /proc/net/tcp*. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>()
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      // local_address is field 1 (addr:port), st is field 3 (0A = LISTEN), inode field 9
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A' && fields[9]) inodes.add(fields[9])
    }
  }
  return inodes
}

/**
 * The LocalStack process: `SQS_ENVELOPE_LOCALSTACK_PID` if set; else the `localstack.runtime.main`
 * process that owns the socket listening on the endpoint's port; else, when no listener is visible
 * in /proc/net, the only such process.
 * A container's LocalStack runs in another PID namespace: then there is none to read.
 */
function findServer(endpoint: string): BenchLocalStack['server'] {
  if (process.platform !== 'linux') return { pid: null, why: 'server CPU is read from /proc (Linux only)' }
  const explicit = process.env.SQS_ENVELOPE_LOCALSTACK_PID
  if (explicit) return { pid: Number(explicit), how: 'SQS_ENVELOPE_LOCALSTACK_PID' }
  const candidates = readdirSync('/proc').filter(
    (pid) => /^\d+$/.test(pid) && processCommand(pid).includes('localstack.runtime.main'),
  )
  const port = Number(new URL(endpoint).port || 80)
  const inodes = listeningInodes(port)
  for (const pid of candidates) {
    let fds: string[] = []
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`)
        if (link.startsWith('socket:[') && inodes.has(link.slice(8, -1))) {
          return { pid: Number(pid), how: `localstack.runtime.main listening on port ${port}` }
        }
      } catch {}
    }
  }
  // Only when the port's owner cannot be seen at all: another process owning it (e.g. a container's
  // port proxy) means the LocalStack answering is not one of these.
  if (inodes.size === 0 && candidates.length === 1) {
    return { pid: Number(candidates[0]), how: 'the only localstack.runtime.main process' }
  }
  return {
    pid: null,
    why:
      candidates.length === 0
        ? 'no localstack.runtime.main process visible (a container, or another machine): server CPU not measured'
        : `${candidates.length} localstack.runtime.main processes and none owns port ${port}: server CPU not measured`,
  }
}

let ticksPerSecond: number | undefined

/** CPU time (user + system, all threads) of `pid` so far, in µs; undefined when it cannot be read. */
export function processCpuMicros(pid: number | null): number | undefined {
  if (pid === null) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    // utime and stime are fields 14 and 15 of stat: indexes 11 and 12 after the name.
    return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6
  } catch {
    return undefined
  }
}
