import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LocalStackTarget } from '@sqs-envelope/testing'

/** The bin `pnpm install` links at the repository root: what a user runs. */
export const BIN = fileURLToPath(new URL('../node_modules/.bin/sqs-envelope', import.meta.url))

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** The environment a user would have: the SDK's variables pointing at LocalStack; this Node first on PATH. */
export function cliEnv(target: LocalStackTarget): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    AWS_ENDPOINT_URL: target.endpoint,
    AWS_REGION: target.region,
    AWS_ACCESS_KEY_ID: target.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
  }
}

/** Starts the real bin as a child process. */
export function startCli(target: LocalStackTarget, args: readonly string[], cwd?: string): ChildProcess {
  return spawn(BIN, args, { env: cliEnv(target), stdio: ['pipe', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) })
}

/** Collects a child's output and exit status. */
export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Runs the bin to its end with `input` on stdin. */
export function runCli(target: LocalStackTarget, args: readonly string[], input = ''): Promise<CliResult> {
  const child = startCli(target, args)
  const result = finished(child)
  child.stdin?.end(input)
  return result
}

export const repositoryRoot = join(dirname(BIN), '..', '..')

/**
 * Runs the bin to its end like {@link runCli}, with `env` applied over {@link cliEnv}: a variable set to
 * undefined is removed (e.g. `AWS_REGION`, to see what a user without a region gets).
 */
export function runCliWithEnv(
  target: LocalStackTarget,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  input: string | Uint8Array = '',
): Promise<CliResult> {
  const merged = { ...cliEnv(target), ...env }
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete merged[name]
  const child = spawn(BIN, args, { env: merged, stdio: ['pipe', 'pipe', 'pipe'] })
  const result = finished(child)
  child.stdin?.end(input)
  return result
}
