import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** What a fault does to a matching request. */
export type FaultAction =
  /** Hold the request this many ms, then forward it. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Destroy the connection without an answer (a TCP reset as the SDK sees it). */
  | { readonly kind: 'reset' }
  /** Answer HTTP 500 `InternalFailure` without forwarding. */
  | { readonly kind: 'error500' }
  /** Answer HTTP 400 `ThrottlingException` (as KMS does when over its request quota) without forwarding. */
  | { readonly kind: 'throttle' }

/** A fault: which requests it hits, what it does, and for how long (it ends by itself). */
export interface Fault {
  /** `kms` (X-Amz-Target `TrentService.*`), `sqs` (`AmazonSQS.*` or a Query `Action=`), or any. @defaultValue any */
  readonly service?: 'kms' | 'sqs'
  /** Operation names to hit, e.g. `['Decrypt']`. @defaultValue every operation */
  readonly operations?: readonly string[]
  readonly action: FaultAction
  /** How long the fault lasts from when it is injected, in ms. Required: a fault always ends. */
  readonly durationMs: number
  /** At most this many requests hit. @defaultValue unlimited within `durationMs` */
  readonly maxHits?: number
  /** Share of matching requests hit, 0–1 (intermittent faults). @defaultValue 1 */
  readonly probability?: number
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Where requests go: a loopback http endpoint (e.g. LocalStack's). Required. */
  readonly upstream: string
  /** The proxy closes itself after this many ms, whatever is running. @defaultValue 600000 */
  readonly lifetimeMs?: number
  /** The proxy closes itself after forwarding or faulting this many requests. @defaultValue 1000000 */
  readonly maxRequests?: number
}

/** Counts of what the proxy did, by `service.operation` and in total. */
export interface FaultProxyStats {
  readonly requests: number
  readonly forwarded: number
  /** Requests hit by a fault, by action kind. */
  readonly injected: Readonly<Record<FaultAction['kind'] | 'down', number>>
  readonly byOperation: Readonly<Record<string, number>>
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to the SDK clients as their endpoint. */
  readonly endpoint: string
  /** Adds a fault, active from now for its `durationMs`; resolves when it has ended. */
  inject(fault: Fault): Promise<void>
  /** Takes the upstream "down" for `durationMs`: open connections are cut, new ones reset. Resolves when it is back. */
  down(durationMs: number): Promise<void>
  stats(): FaultProxyStats
  /** Stops listening, cuts every connection and ends every fault. Idempotent. */
  close(): Promise<void>
  /** Resolves when the proxy has closed (by `close()`, its lifetime or its request budget). */
  readonly closed: Promise<void>
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

interface ActiveFault extends Fault {
  readonly until: number
  hits: number
  readonly done: () => void
}

function identify(req: IncomingMessage, body: Buffer): { service: 'kms' | 'sqs' | 'other'; operation: string } {
  const target = req.headers['x-amz-target']
  if (typeof target === 'string') {
    const [prefix = '', operation = ''] = target.split('.')
    if (prefix.startsWith('TrentService')) return { service: 'kms', operation }
    if (prefix.startsWith('AmazonSQS')) return { service: 'sqs', operation }
  }
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString('latin1'))
  return action ? { service: 'sqs', operation: action[1] as string } : { service: 'other', operation: 'unknown' }
}

function answer(res: ServerResponse, status: number, type: string, message: string) {
  const body = JSON.stringify({ __type: type, message })
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': 'fault-proxy',
    'x-amzn-query-error': `${type};Sender`,
  })
  res.end(body)
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a loopback AWS-compatible endpoint (LocalStack) that injects
 * faults into chosen KMS and SQS operations: delays, connection resets, HTTP 500s and KMS throttling.
 * Bounded: each fault ends after its duration (and optional hit count), and the proxy closes itself
 * after `lifetimeMs` or `maxRequests`, so a failed test cannot leave it running.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream)
  if (upstream.protocol !== 'http:' || !LOOPBACK.has(upstream.hostname)) {
    throw new Error(`upstream must be an http endpoint on loopback; received ${JSON.stringify(options.upstream)}`)
  }
  const lifetimeMs = options.lifetimeMs ?? 600_000
  const maxRequests = options.maxRequests ?? 1_000_000
  const faults = new Set<ActiveFault>()
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const byOperation: Record<string, number> = {}
  const injected = { delay: 0, reset: 0, error500: 0, throttle: 0, down: 0 }
  let requests = 0
  let forwarded = 0
  let downUntil = 0
  let closing: Promise<void> | undefined

  const after = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
    return timer
  }

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse) => {
    forwarded++
    const upstreamReq = request(
      {
        host: upstream.hostname.replace(/^\[|\]$/g, ''),
        port: upstream.port || 80,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers)
        upstreamRes.pipe(res)
      },
    )
    upstreamReq.on('error', () => res.socket?.destroy())
    upstreamReq.end(body)
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      requests++
      if (requests >= maxRequests) void close()
      const body = Buffer.concat(chunks)
      const { service, operation } = identify(req, body)
      const name = `${service}.${operation}`
      byOperation[name] = (byOperation[name] ?? 0) + 1
      const now = Date.now()
      if (now < downUntil) {
        injected.down++
        req.socket.destroy()
        return
      }
      const fault = [...faults].find(
        (f) =>
          f.until > now &&
          (f.maxHits === undefined || f.hits < f.maxHits) &&
          (f.service === undefined || f.service === service) &&
          (f.operations === undefined || f.operations.includes(operation)) &&
          (f.probability === undefined || Math.random() < f.probability),
      )
      if (!fault) return forward(req, body, res)
      fault.hits++
      injected[fault.action.kind]++
      switch (fault.action.kind) {
        case 'delay':
          after(fault.action.ms, () => forward(req, body, res))
          return
        case 'reset':
          req.socket.destroy()
          return
        case 'error500':
          return answer(res, 500, 'InternalFailure', 'injected by the fault proxy')
        case 'throttle':
          return answer(res, 400, 'ThrottlingException', 'Rate exceeded (injected by the fault proxy)')
      }
    })
  }

  const server: Server = createServer(handle)
  server.on('connection', (socket) => {
    if (Date.now() < downUntil) {
      injected.down++
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as { port: number }

  let resolveClosed: () => void = () => {}
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve
  })
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const fault of faults) fault.done()
      faults.clear()
      for (const socket of sockets) socket.destroy()
      server.close(() => {
        resolveClosed()
        resolve()
      })
    })
    return closing
  }
  after(lifetimeMs, () => void close()).unref()

  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject(fault) {
      if (!Number.isFinite(fault.durationMs) || fault.durationMs <= 0) {
        throw new Error(`durationMs must be a positive number; received ${String(fault.durationMs)}`)
      }
      if (closing) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const active: ActiveFault = {
          ...fault,
          until: Date.now() + fault.durationMs,
          hits: 0,
          done: () => {
            faults.delete(active)
            resolve()
          },
        }
        faults.add(active)
        after(fault.durationMs, active.done)
      })
    },
    down(durationMs) {
      if (closing) return Promise.resolve()
      downUntil = Date.now() + durationMs
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => after(durationMs, resolve))
    },
    stats: () => ({ requests, forwarded, injected: { ...injected }, byOperation: { ...byOperation } }),
    close,
    closed,
  }
}
