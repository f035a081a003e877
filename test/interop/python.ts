import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const here = fileURLToPath(new URL('.', import.meta.url))
const venv = join(here, '.venv')
const python = join(venv, 'bin', 'python')

/**
 * A virtualenv with the original recipe's stack (requirements.txt), made once
 * and reused while requirements.txt is unchanged. Returns its python.
 */
export async function recipePython(): Promise<string> {
  const requirements = join(here, 'requirements.txt')
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex')
  const marker = join(venv, '.requirements-sha256')
  if (existsSync(python) && existsSync(marker) && readFileSync(marker, 'utf8') === digest) return python
  await run('python3', ['-m', 'venv', venv]).catch((error: unknown) => {
    throw new Error('the interop tests need python3 with venv (Debian: apt-get install python3-venv)', { cause: error })
  })
  await run(python, ['-m', 'pip', 'install', '--quiet', '-r', requirements], { maxBuffer: 16 << 20 })
  writeFileSync(marker, digest)
  return python
}

/** Runs a Python script in the recipe's venv with the given arguments and stdin; returns its stdout. */
export async function runPythonScript(script: string, args: string[], input?: Buffer): Promise<string> {
  const py = await recipePython()
  const child = execFile(py, [script, ...args], { maxBuffer: 64 << 20 })
  const done = new Promise<string>((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (c: string) => {
      stdout += c
    })
    child.stderr?.on('data', (c: string) => {
      stderr += c
    })
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${script} exited ${code}: ${stderr}`)),
    )
  })
  child.stdin?.end(input ?? Buffer.alloc(0))
  return done
}

/** Runs `recipe.py` with the given arguments and stdin; returns its stdout lines parsed as JSON. */
export async function runRecipe(args: string[], input?: Buffer): Promise<Record<string, string>[]> {
  const stdout = await runPythonScript(join(here, 'recipe.py'), args, input)
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, string>)
}
