#!/usr/bin/env node
// @ts-check
// The repository's host-mode LocalStack: the launcher shipped in @sqs-envelope/testing
// (packages/testing/localstack/launcher.mjs), with its virtualenv and state kept in this
// folder (.venv/, .state/, git-ignored). SQS_ENVELOPE_LOCALSTACK_HOME still overrides.
//
//   node localstack/launcher.mjs <start|stop|status|logs> [--port N] [--json] [-n LINES]
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as launcher from '../packages/testing/localstack/launcher.mjs'

/** @typedef {import('../packages/testing/localstack/launcher/config.mjs').LauncherOptions} LauncherOptions */

const here = path.dirname(fileURLToPath(import.meta.url))
/** @param {LauncherOptions} [opts] @returns {LauncherOptions} */
const withHome = (opts = {}) => ({ home: process.env.SQS_ENVELOPE_LOCALSTACK_HOME ?? here, ...opts })

export const { LauncherError, localstackVersion, endpointFor } = launcher
/** @param {LauncherOptions} [opts] */
export const start = (opts) => launcher.start(withHome(opts))
/** @param {LauncherOptions} [opts] */
export const stop = (opts) => launcher.stop(withHome(opts))
/** @param {LauncherOptions} [opts] */
export const status = (opts) => launcher.status(withHome(opts))
/** @param {number} [lines] @param {LauncherOptions} [opts] */
export const logs = (lines, opts) => launcher.logs(lines, withHome(opts))
/** @param {LauncherOptions} [opts] */
export const paths = (opts) => launcher.paths(withHome(opts))

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  launcher.runMain(process.argv.slice(2), withHome())
}
