/** One task exception as workers reported it (Locust's exceptions table), grouped by traceback. */
export interface ExceptionEntry {
  count: number
  msg: string
  traceback: string
  nodes: string[]
}

/** Task exceptions workers reported, grouped by traceback as Locust's master does. */
export class ExceptionLog {
  readonly #byTraceback = new Map<
    string,
    { count: number; msg: string; traceback: string; nodes: Set<string> }
  >()

  add(workerId: string, msg: string, traceback: string): void {
    const entry = this.#byTraceback.get(traceback) ?? { count: 0, msg, traceback, nodes: new Set<string>() }
    entry.count += 1
    entry.nodes.add(workerId)
    this.#byTraceback.set(traceback, entry)
  }

  list(): ExceptionEntry[] {
    return [...this.#byTraceback.values()].map((e) => ({ ...e, nodes: [...e.nodes] }))
  }
}
