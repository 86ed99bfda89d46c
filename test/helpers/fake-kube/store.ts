import { randomUUID } from 'node:crypto'

/**
 * The fake API server's object store: what etcd + the API machinery give a client. Every change bumps a
 * global resourceVersion and is offered to watchers; a bounded log of changes lets a watch resume from a
 * resourceVersion as a real server does (an older one gets 410 Gone).
 */
export type KubeObject = {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    uid?: string
    resourceVersion?: string
    creationTimestamp?: string
    deletionTimestamp?: string
    generation?: number
    labels?: Record<string, string>
    annotations?: Record<string, string>
    ownerReferences?: Array<{
      apiVersion: string
      kind: string
      name: string
      uid: string
      controller?: boolean
    }>
    finalizers?: string[]
    [k: string]: unknown
  }
  spec?: Record<string, unknown>
  status?: Record<string, unknown>
  [k: string]: unknown
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'
export interface Change {
  rv: number
  type: WatchEventType
  resource: string
  object: KubeObject
}
export interface Watcher {
  resource: string
  namespace: string | undefined
  matches: (o: KubeObject) => boolean
  send: (type: WatchEventType, object: KubeObject) => void
}

const LOG_MAX = 5000

export function createStore() {
  const objects = new Map<string, KubeObject>()
  const watchers = new Set<Watcher>()
  const log: Change[] = []
  let rv = 1000
  // Versions at or before this are gone from the log (etcd compaction): resuming from them is 410 Gone.
  let compactedRv = 0
  const key = (resource: string, namespace: string | undefined, name: string): string =>
    `${resource}/${namespace ?? ''}/${name}`
  const snapshot = (o: KubeObject): KubeObject => structuredClone(o)

  function emit(type: WatchEventType, resource: string, object: KubeObject): void {
    const copy = snapshot(object)
    log.push({ rv, type, resource, object: copy })
    if (log.length > LOG_MAX) log.shift()
    for (const w of watchers)
      if (
        w.resource === resource &&
        (w.namespace === undefined || w.namespace === copy.metadata.namespace) &&
        w.matches(copy)
      )
        w.send(type, copy)
  }

  return {
    get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
      const o = objects.get(key(resource, namespace, name))
      return o === undefined ? undefined : snapshot(o)
    },
    list(
      resource: string,
      namespace: string | undefined,
      matches: (o: KubeObject) => boolean = () => true,
    ): KubeObject[] {
      return [...objects.entries()]
        .filter(([k]) => k.startsWith(`${resource}/`))
        .map(([, o]) => o)
        .filter((o) => (namespace === undefined || o.metadata.namespace === namespace) && matches(o))
        .map(snapshot)
    },
    create(resource: string, object: KubeObject): KubeObject {
      rv += 1
      const o = snapshot(object)
      o.metadata.uid ??= randomUUID()
      o.metadata.creationTimestamp ??= new Date().toISOString()
      o.metadata.generation = 1
      o.metadata.resourceVersion = String(rv)
      objects.set(key(resource, o.metadata.namespace, o.metadata.name), o)
      emit('ADDED', resource, o)
      return snapshot(o)
    },
    /** Replaces the stored object; `generation` moves only when the spec changes, as the API server does. */
    update(resource: string, object: KubeObject): KubeObject {
      const k = key(resource, object.metadata.namespace, object.metadata.name)
      const old = objects.get(k)
      if (old === undefined) throw new Error(`update of missing ${k}`)
      rv += 1
      const o = snapshot(object)
      o.metadata.uid = old.metadata.uid
      o.metadata.creationTimestamp = old.metadata.creationTimestamp
      o.metadata.generation =
        (old.metadata.generation ?? 1) + (JSON.stringify(old.spec) === JSON.stringify(o.spec) ? 0 : 1)
      o.metadata.resourceVersion = String(rv)
      objects.set(k, o)
      emit('MODIFIED', resource, o)
      return snapshot(o)
    },
    remove(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
      const k = key(resource, namespace, name)
      const old = objects.get(k)
      if (old === undefined) return undefined
      objects.delete(k)
      rv += 1
      old.metadata.resourceVersion = String(rv)
      emit('DELETED', resource, old)
      return snapshot(old)
    },
    resourceVersion: (): string => String(rv),
    /** Forgets every change so far, as etcd's compaction does: older resourceVersions answer 410 Gone. */
    compact(): void {
      compactedRv = rv
      log.length = 0
    },
    /** Changes after `fromRv`, or null when the log no longer reaches back that far (410 Gone). */
    changesSince(fromRv: number): Change[] | null {
      if (fromRv < compactedRv) return null
      const first = log[0]
      if (first !== undefined && fromRv < first.rv - 1) return null
      return log.filter((c) => c.rv > fromRv)
    },
    watch(w: Watcher): () => void {
      watchers.add(w)
      return () => watchers.delete(w)
    },
  }
}
export type Store = ReturnType<typeof createStore>

/** Label selectors as the API accepts them: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`. */
export function parseLabelSelector(
  text: string | null,
): (labels: Record<string, string> | undefined) => boolean {
  if (text === null || text.trim() === '') return () => true
  const terms = text.match(/[^,(]+(\([^)]*\))?/g) ?? []
  const tests = terms.map((raw) => {
    const term = raw.trim()
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term)
    if (m) {
      const [, k = '', op, vs = ''] = m
      const set = new Set(vs.split(',').map((v) => v.trim()))
      return (l: Record<string, string>) =>
        op === 'in' ? k in l && set.has(l[k] ?? '') : !(k in l) || !set.has(l[k] ?? '')
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term)
    if (m) {
      const [, k = '', op, v = ''] = m
      return (l: Record<string, string>) => (op === '!=' ? l[k] !== v : l[k] === v)
    }
    if (term.startsWith('!')) return (l: Record<string, string>) => !(term.slice(1) in l)
    return (l: Record<string, string>) => term in l
  })
  return (labels) => tests.every((t) => t(labels ?? {}))
}
