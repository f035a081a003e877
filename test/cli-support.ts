import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LocalStackTarget } from '@sqs-envelope/testing'
import { awsEnv, finished, type ProcessResult, startProcess } from './harness.ts'

export { finished } from './harness.ts'

/** The bin `pnpm install` links at the repository root: what a user runs. */
export const BIN = fileURLToPath(new URL('../node_modules/.bin/sqs-envelope', import.meta.url))

/** What a run of the bin printed and how it exited. */
export type CliResult = ProcessResult

/** The environment a user would have: the SDK's variables pointing at LocalStack; this Node first on PATH. */
export const cliEnv: (target: LocalStackTarget) => NodeJS.ProcessEnv = awsEnv

/** Starts the real bin as a child process. */
export function startCli(target: LocalStackTarget, args: readonly string[], cwd?: string): ChildProcess {
  return startProcess(BIN, args, { env: awsEnv(target), stdin: 'pipe', ...(cwd ? { cwd } : {}) })
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
  const child = startProcess(BIN, args, { env: merged, stdin: 'pipe' })
  const result = finished(child)
  child.stdin?.end(input)
  return result
}
