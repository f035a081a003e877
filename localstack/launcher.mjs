#!/usr/bin/env node
// The repository's host-mode LocalStack: the launcher shipped in @sqs-envelope/testing
// (packages/testing/localstack/launcher.mjs), with its virtualenv and state kept in this
// folder (.venv/, .state/, git-ignored). SQS_ENVELOPE_LOCALSTACK_HOME still overrides.
//
//   node localstack/launcher.mjs <start|stop|status|logs> [--port N] [--json] [-n LINES]
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as launcher from '../packages/testing/localstack/launcher.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const withHome = (opts = {}) => ({ home: process.env.SQS_ENVELOPE_LOCALSTACK_HOME ?? here, ...opts })

export const { LauncherError, localstackVersion, endpointFor } = launcher
export const start = (opts) => launcher.start(withHome(opts))
export const stop = (opts) => launcher.stop(withHome(opts))
export const status = (opts) => launcher.status(withHome(opts))
export const logs = (lines, opts) => launcher.logs(lines, withHome(opts))
export const paths = (opts) => launcher.paths(withHome(opts))

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  launcher.runMain(process.argv.slice(2), withHome())
}
