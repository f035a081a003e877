#!/usr/bin/env node
// Starts the CLI. In a checkout of the repository (this file is not under node_modules) it runs the
// TypeScript sources with Node's type stripping, resolving the workspace packages to their sources
// too, so no build is needed and nothing stale runs. Installed from a registry, it runs the build.
import { existsSync, realpathSync } from 'node:fs'
import module from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(realpathSync(fileURLToPath(import.meta.url))), '..')
const sources = join(root, 'src', 'main.ts')
const build = join(root, 'dist', 'main.js')
const checkout = !root.split(/[\\/]/).includes('node_modules') && existsSync(sources)

if (checkout && process.features.typescript && typeof module.registerHooks === 'function') {
  module.registerHooks({
    resolve(specifier, context, next) {
      return next(specifier, { ...context, conditions: [...context.conditions, '@sqs-envelope/source'] })
    },
  })
  await import(pathToFileURL(sources).href)
} else if (existsSync(build)) {
  await import(pathToFileURL(build).href)
} else {
  process.stderr.write(
    checkout
      ? `sqs-envelope: this Node.js (${process.version}) cannot run TypeScript sources and ${build} is missing: ` +
          'run `pnpm run build` at the repository root, or use Node.js ≥ 22.18.\n'
      : `sqs-envelope: ${build} is missing from the installed package: reinstall @sqs-envelope/cli.\n`,
  )
  process.exitCode = 1
}
