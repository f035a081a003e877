#!/usr/bin/env node
// Brings the toolchain this repo needs and then runs one of its pnpm scripts:
//   node .toolchain/bootstrap.mjs <script> [args...]
// Runs on any Node >= 18 so that a machine with only an older system Node and
// npm can start. Node >= 22 and pnpm already on PATH are used as they are (no
// download); otherwise Node 24 comes from the npm registry (the
// `node-<platform>-<arch>` package carries the official binary) and pnpm from
// the npm registry too, both cached under .toolchain/cache (git-ignored).
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const NODE_VERSION = '24.22.3'
const MIN_NODE_MAJOR = 22

const here = dirname(fileURLToPath(import.meta.url))
const root = dirname(here)
const cache = join(here, 'cache')
const shims = join(cache, 'bin')

const log = (msg) => process.stderr.write(`[toolchain] ${msg}\n`)

function fail(msg) {
  log(`error: ${msg}`)
  process.exit(2)
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { stdio: 'inherit', ...opts })
}

function probe(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env })
  return r.status === 0 ? r.stdout.trim() : undefined
}

function npmInstall(prefix, spec) {
  mkdirSync(prefix, { recursive: true })
  log(`installing ${spec} from the npm registry into ${prefix}`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const r = run(
    npm,
    ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', prefix, spec],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  if (r.error) fail(`could not run npm (${r.error.message}); install Node.js >= ${MIN_NODE_MAJOR} with npm`)
  if (r.status !== 0) fail(`npm install ${spec} failed (exit ${r.status})`)
}

function resolveNode() {
  const major = Number(process.versions.node.split('.')[0])
  if (major >= MIN_NODE_MAJOR) return process.execPath
  const pkg = `node-${process.platform}-${process.arch}`
  const prefix = join(cache, `node-${NODE_VERSION}`)
  const bin = join(prefix, 'node_modules', pkg, 'bin', 'node')
  if (!existsSync(bin)) {
    log(`system Node ${process.versions.node} is older than ${MIN_NODE_MAJOR}; fetching Node ${NODE_VERSION}`)
    npmInstall(prefix, `${pkg}@${NODE_VERSION}`)
  }
  if (probe(bin, ['--version']) !== `v${NODE_VERSION}`)
    fail(`${bin} does not run; install Node.js >= ${MIN_NODE_MAJOR}`)
  return bin
}

function pinnedPnpm() {
  const pm = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager ?? ''
  const m = /^pnpm@(\d+\.\d+\.\d+)/.exec(pm)
  if (!m) fail('package.json has no "packageManager": "pnpm@x.y.z"')
  return m[1]
}

function resolvePnpm(env) {
  const onPath = probe('pnpm', ['--version'], env)
  if (onPath) return undefined
  const version = pinnedPnpm()
  const prefix = join(cache, `pnpm-${version}`)
  const cli = join(prefix, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs')
  if (!existsSync(cli)) npmInstall(prefix, `pnpm@${version}`)
  return cli
}

const [script, ...args] = process.argv.slice(2)
if (!script) fail('usage: node .toolchain/bootstrap.mjs <script> [args...]')

const nodeBin = resolveNode()
mkdirSync(shims, { recursive: true })
const env = { ...process.env, PATH: [dirname(nodeBin), process.env.PATH].join(delimiter) }
const pnpmCli = resolvePnpm(env)
if (pnpmCli) {
  // A shim so that pnpm's own child scripts find `pnpm` on PATH too.
  const shim = join(shims, 'pnpm')
  writeFileSync(shim, `#!/bin/sh\nexec "${nodeBin}" "${pnpmCli}" "$@"\n`)
  chmodSync(shim, 0o755)
  env.PATH = [shims, env.PATH].join(delimiter)
}

log(`node ${probe(nodeBin, ['--version'])}, pnpm ${probe('pnpm', ['--version'], env)}`)
const install = run('pnpm', ['install', '--frozen-lockfile', '--reporter=append-only'], { cwd: root, env })
if (install.status !== 0) fail('pnpm install failed')
const r = run('pnpm', ['run', script, ...args], { cwd: root, env })
process.exit(r.status ?? 1)
