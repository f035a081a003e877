// Supply chain: no high or critical advisory in the production dependencies (when the registry's audit
// endpoint answers), dependencies pinned by the lockfile, and the size of the production tree reported.
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { report } from './scale.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const pnpm = (args: string[]) =>
  run('pnpm', args, { cwd: root, maxBuffer: 64 << 20, timeout: 60_000 }).catch(
    (error: { stdout?: string; stderr?: string; code?: number }) => ({
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
      failed: error.code ?? 1,
    }),
  )

interface LsNode {
  version?: string
  deduped?: boolean
  dependencies?: Record<string, LsNode>
}

describe('supply chain', () => {
  it('pnpm audit --prod: no high or critical advisory (skipped, with the reason, when the audit endpoint does not answer)', async (context) => {
    const output = await pnpm(['audit', '--prod', '--json'])
    let result: { error?: { code?: string; message?: string }; metadata?: { vulnerabilities?: Record<string, number> } }
    try {
      result = JSON.parse(output.stdout)
    } catch {
      // No JSON at all: pnpm timed out (60 s) or failed before asking; the endpoint gave no answer to judge.
      const failure = 'failed' in output ? `exit ${output.failed}` : 'exit 0'
      context.skip(`no audit answer (${failure}): ${(output.stderr || output.stdout || 'no output').slice(0, 200)}`)
      return
    }
    if (result.error) {
      // The npm registry's audit endpoint is not reachable from every network (here: 405 through the mirror).
      context.skip(`audit endpoint unavailable: ${result.error.code}: ${result.error.message?.slice(0, 200)}`)
      return
    }
    const vulnerabilities = result.metadata?.vulnerabilities
    expect(vulnerabilities, 'an audit report').toBeDefined()
    report({ scenario: 'audit', vulnerabilities })
    expect(vulnerabilities?.high ?? 0).toBe(0)
    expect(vulnerabilities?.critical ?? 0).toBe(0)
  }, 90_000)

  it('the lockfile pins every dependency: a frozen, offline resolution changes nothing', async () => {
    // pnpm may rewrite the file's layout even when frozen: the bytes are put back as they were.
    const lockfile = join(root, 'pnpm-lock.yaml')
    const before = readFileSync(lockfile)
    try {
      const result = await pnpm(['install', '--frozen-lockfile', '--offline', '--lockfile-only'])
      expect('failed' in result ? result.stderr || result.stdout : '').toBe('')
    } finally {
      writeFileSync(lockfile, before)
    }
  }, 90_000)

  it('production dependency tree of each published package, counted', async () => {
    const { stdout } = await pnpm(['ls', '--prod', '-r', '--depth', 'Infinity', '--json', '--filter', './packages/*'])
    const projects = JSON.parse(stdout) as Array<{
      name: string
      private?: boolean
      dependencies?: Record<string, LsNode>
    }>
    // pnpm prints a shared subtree once and marks the other occurrences `deduped`: index them all first.
    const children = new Map<string, Record<string, LsNode>>()
    const index = (deps: Record<string, LsNode> | undefined) => {
      for (const [name, node] of Object.entries(deps ?? {})) {
        const id = `${name}@${node.version}`
        if (node.dependencies && !children.has(id)) children.set(id, node.dependencies)
        index(node.dependencies)
      }
    }
    for (const project of projects) index(project.dependencies)
    const sizes: Record<string, number> = {}
    const all = new Set<string>()
    // Private workspace packages (the bench) are never installed by users: not counted.
    for (const project of projects.filter((p) => !p.private)) {
      const seen = new Set<string>()
      const visit = (deps: Record<string, LsNode> | undefined) => {
        for (const [name, node] of Object.entries(deps ?? {})) {
          const id = `${name}@${node.version}`
          if (seen.has(id)) continue
          seen.add(id)
          visit(node.dependencies ?? children.get(id))
        }
      }
      visit(project.dependencies)
      const external = [...seen].filter((id) => !id.includes('@link:'))
      sizes[project.name] = external.length
      for (const id of external) all.add(id)
    }
    report({ scenario: 'production dependency tree', packages: sizes, distinct: all.size })
    expect(sizes['@sqs-envelope/core']).toBeGreaterThan(0)
    // Every package resolved to one exact version (no range left open).
    expect([...all].every((id) => /@\d+\.\d+\.\d+/.test(id))).toBe(true)
  }, 90_000)
})
