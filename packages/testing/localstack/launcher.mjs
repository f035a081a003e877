#!/usr/bin/env node
// @ts-check
// Host-mode LocalStack launcher (no Docker): localstack-core[runtime]==<version> in a
// virtualenv, started as a detached process on 127.0.0.1:<port>. Shipped inside
// @sqs-envelope/testing (with `version`, `constraints.txt` and `init/`), so it works in
// any project; the repository's localstack/launcher.mjs runs it with its own folder as home.
//
//   node launcher.mjs <start|stop|status|logs> [--port N] [--json] [-n LINES]
//
// Dependency-free, Node >= 22, type-checked (JSDoc). Other Node code may import start/stop/status.
// The modules: launcher/config.mjs (paths, port, version), launcher/discovery.mjs (Python,
// virtualenv, init hooks), launcher/process.mjs (pids, process groups, the start lock),
// launcher/commands.mjs (start/stop/status/logs), launcher/cli.mjs (the command line).
import fs from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { runMain } from './launcher/cli.mjs'

export { main, runMain } from './launcher/cli.mjs'
export { logs, start, status, stop } from './launcher/commands.mjs'
export { ASSETS, endpointFor, LauncherError, localstackVersion, paths } from './launcher/config.mjs'

/** Whether this file is the process's script (also through the bin's symlink). */
function isMain() {
  if (!process.argv[1]) return false
  try {
    return (
      pathToFileURL(fs.realpathSync(process.argv[1])).href ===
      pathToFileURL(fs.realpathSync(fileURLToPath(import.meta.url))).href
    )
  } catch {
    return false
  }
}

if (isMain()) runMain(process.argv.slice(2))
