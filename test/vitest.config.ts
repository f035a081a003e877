import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const root = fileURLToPath(new URL('..', import.meta.url))

// Workspace packages resolve to their TypeScript sources in tests, so no build is needed first.
// Vite applies `resolve.conditions` to the client environment only; tests run in the SSR one.
const resolve = { conditions: ['@sqs-envelope/source'] }
const ssr = { resolve: { conditions: ['@sqs-envelope/source'] } }

export default defineConfig({
  root,
  test: {
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          root,
          include: ['packages/*/src/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'integration',
          root,
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})
