// The `sqs-envelope` command; bin/sqs-envelope.js starts it.
import { CommanderError } from 'commander'
import { CommandFailure, describeError, EXIT, exitStatus } from './common.ts'
import { createProgram, type Outcome } from './program.ts'

// A closed stdout (EPIPE) reaches the writes that failed (see writeLine); it must not crash the process.
process.stdout.on('error', () => {})

/** How long a finished command may take to flush before it exits regardless. */
const EXIT_GRACE_MS = 100

const outcome: Outcome = { exitCode: EXIT.ok }
try {
  await createProgram(outcome).parseAsync(process.argv)
  process.exitCode = outcome.exitCode
} catch (error) {
  if (!(error instanceof CommanderError)) {
    process.stderr.write(`sqs-envelope: ${error instanceof CommandFailure ? error.message : describeError(error)}\n`)
  }
  process.exitCode = exitStatus(error)
}
// The command is over: what a handler module left running (a timer, a socket, an import that never
// settles) must not keep the process alive. Unref'd, so a process with nothing left exits at once.
setTimeout(() => process.exit(), EXIT_GRACE_MS).unref()
