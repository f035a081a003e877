import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { MessageHandler } from '@sqs-envelope/consumer'
import { CommandFailure, describeError, EXIT } from './common.ts'

/**
 * Settles like `promise`, or rejects with `onTimeout()` after `ms`. The timer keeps the process alive
 * meanwhile: an import whose top-level await never settles must end here (exit 2), not in Node's
 * "unsettled top-level await" (exit 13).
 */
function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Loads the handler: the default export of FILE (a `.js`, `.mjs` or, on Node ≥ 22.18, `.ts` module),
 * waiting at most `timeoutMs` for the module to load.
 */
export async function loadHandler(file: string, timeoutMs: number): Promise<MessageHandler> {
  const path = resolve(file)
  if (!existsSync(path)) throw new CommandFailure(`--handler ${file}: no such file`, EXIT.usage)
  let module: { default?: unknown }
  try {
    module = await within(
      import(pathToFileURL(path).href) as Promise<{ default?: unknown }>,
      timeoutMs,
      () => new CommandFailure(`--handler ${file} did not finish loading within ${timeoutMs} ms`, EXIT.usage),
    )
  } catch (error) {
    if (error instanceof CommandFailure) throw error
    throw new CommandFailure(`--handler ${file} could not be loaded: ${describeError(error)}`, EXIT.usage, {
      cause: error,
    })
  }
  if (typeof module.default !== 'function') {
    throw new CommandFailure(
      `--handler ${file} must have a default export: an async function (job, context) => void; got ${typeof module.default}`,
      EXIT.usage,
    )
  }
  return module.default as MessageHandler
}
