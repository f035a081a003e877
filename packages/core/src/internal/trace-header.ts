/**
 * The trace context a job carries across the queue, in the two formats SQS sees: the system
 * attribute `AWSTraceHeader` (X-Ray: `Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`, which
 * does not count towards the 10 message attributes) and W3C `traceparent`
 * (`00-<32 hex>-<16 hex>-<2 hex>`). A W3C trace id is the X-Ray root's two parts joined.
 */
export interface TraceIds {
  /** 32 lowercase hex characters, not all zero. */
  readonly traceId: string
  /** 16 lowercase hex characters, not all zero. */
  readonly spanId: string
  readonly sampled: boolean
}

const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/
const XRAY_ROOT = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

function validIds(traceId: string, spanId: string): boolean {
  return TRACE_ID.test(traceId) && SPAN_ID.test(spanId) && traceId !== ZERO_TRACE && spanId !== ZERO_SPAN
}

/** The X-Ray header of a W3C span context; undefined when the ids are not valid W3C ids. */
export function toXrayHeader(ids: TraceIds): string | undefined {
  if (!validIds(ids.traceId, ids.spanId)) return undefined
  const { traceId, spanId, sampled } = ids
  return `Root=1-${traceId.slice(0, 8)}-${traceId.slice(8)};Parent=${spanId};Sampled=${sampled ? '1' : '0'}`
}

/**
 * The span context an X-Ray header names; undefined when it has no valid Root and Parent (a header
 * with only a Root, as a service may start one, names no parent). Other fields (Lineage, Self) are
 * ignored; a missing or deferred (`?`) Sampled counts as not sampled.
 */
export function fromXrayHeader(header: string | undefined): TraceIds | undefined {
  if (typeof header !== 'string' || header.length > 1024) return undefined
  let root: RegExpExecArray | null = null
  let parent: string | undefined
  let sampled = false
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    const key = part.slice(0, eq).trim()
    const value = part
      .slice(eq + 1)
      .trim()
      .toLowerCase()
    if (key === 'Root') root = XRAY_ROOT.exec(value)
    else if (key === 'Parent') parent = value
    else if (key === 'Sampled') sampled = value === '1'
  }
  if (root === null || parent === undefined) return undefined
  const traceId = `${root[1]}${root[2]}`
  return validIds(traceId, parent) ? { traceId, spanId: parent, sampled } : undefined
}

/** The W3C `traceparent` of a span context; undefined when the ids are not valid. */
export function toTraceparent(ids: TraceIds): string | undefined {
  if (!validIds(ids.traceId, ids.spanId)) return undefined
  return `00-${ids.traceId}-${ids.spanId}-${ids.sampled ? '01' : '00'}`
}

/** The span context of a W3C `traceparent`; undefined when it is not a valid version-00-compatible one. */
export function fromTraceparent(header: string | undefined): TraceIds | undefined {
  if (typeof header !== 'string') return undefined
  const match = TRACEPARENT.exec(header.trim().toLowerCase())
  if (match === null || match[1] === 'ff') return undefined
  const traceId = match[2] as string
  const spanId = match[3] as string
  if (!validIds(traceId, spanId)) return undefined
  return { traceId, spanId, sampled: (Number.parseInt(match[4] as string, 16) & 1) === 1 }
}
