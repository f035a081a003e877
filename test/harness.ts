// The one child-process harness of the integration tests: the CLI's bin, the example programs, the
// crash/reliability worker and the Python recipes all run through it, as a user runs them.
import { type ChildProcess, fork, type SpawnOptions, spawn } from 'node:child_process'
import { dirname } from 'node:path'
import type { LocalStackTarget } from '@sqs-envelope/testing'

/** Workspace packages resolve to their TypeScript sources, so a child needs no build first. */
export const SOURCE_CONDITION = '--conditions=@sqs-envelope/source'

/** A child's exit code and everything it printed. */
export interface ProcessResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** The environment a user would have: the SDK's variables pointing at LocalStack; this Node first on PATH. */
export function awsEnv(target: LocalStackTarget): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    AWS_ENDPOINT_URL: target.endpoint,
    AWS_REGION: target.region,
    AWS_ACCESS_KEY_ID: target.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
  }
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
  /** `pipe` to write to the child's stdin; otherwise it reads nothing. @defaultValue `'ignore'` */
  readonly stdin?: 'pipe' | 'ignore'
  /** `inherit` shows the child's output in the test's; otherwise it is piped for {@link follow}. @defaultValue `'pipe'` */
  readonly output?: 'pipe' | 'inherit'
}

function spawnOptions(options: StartOptions) {
  const output = options.output ?? 'pipe'
  return {
    stdio: [options.stdin ?? 'ignore', output, output] as const,
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  } satisfies SpawnOptions
}

/** Starts a program. */
export function startProcess(command: string, args: readonly string[], options: StartOptions = {}): ChildProcess {
  return spawn(command, args, spawnOptions(options))
}

export interface NodeOptions extends StartOptions {
  /** More Node flags, after the source condition. */
  readonly nodeArgs?: readonly string[]
  /** An IPC channel (`fork`), for a child that reports with `process.send`. @defaultValue false */
  readonly ipc?: boolean
}

/** Runs a TypeScript (or JavaScript) file with this Node, workspace packages from their sources. */
export function startNode(script: string, args: readonly string[] = [], options: NodeOptions = {}): ChildProcess {
  const execArgv = [SOURCE_CONDITION, ...(options.nodeArgs ?? [])]
  if (!options.ipc) return startProcess(process.execPath, [...execArgv, script, ...args], options)
  const { stdio, ...rest } = spawnOptions(options)
  return fork(script, args, { ...rest, execArgv, stdio: [...stdio, 'ipc'] })
}

/** A child's output so far, as it arrives, and its result once it has closed. */
export interface Followed {
  stdout(): string
  stderr(): string
  readonly result: Promise<ProcessResult>
}

/** Collects a child's output (when piped) and its exit status. */
export function follow(child: ChildProcess): Followed {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const result = new Promise<ProcessResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
  return { stdout: () => stdout, stderr: () => stderr, result }
}

/** Collects a child's output and exit status. */
export function finished(child: ChildProcess): Promise<ProcessResult> {
  return follow(child).result
}

/** Sends `signal` to a child and resolves with its exit code once it has exited (at once if it already has). */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.kill(signal)
  return exited
}

/** Each non-empty line of `stdout` parsed as JSON. */
export function jsonLines<T = Record<string, string | number>>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T)
}
