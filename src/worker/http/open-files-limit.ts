import { readFileSync } from 'node:fs'

/** File descriptors kept free for everything else a worker opens (ZeroMQ, logs, DNS, the scenario's own). */
export const RESERVED_FILE_DESCRIPTORS = 512

/**
 * The process's soft limit on open files (`ulimit -n`), from /proc on Linux; null where it cannot be read.
 * Node has no getrlimit, and a worker that opens one socket per user must know it: past it every new
 * connection fails with EMFILE and the run fills with errors that say nothing about the cause.
 */
export function openFilesLimit(): number | null {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8')
    const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits)
    if (match === null || match[1] === 'unlimited') return null
    return Number(match[1])
  } catch {
    return null
  }
}

/** Most connections per origin when the scenario says "one per concurrent request" (connections: null). */
export function defaultConnectionCap(limit: number | null = openFilesLimit()): number | null {
  return limit === null ? null : Math.max(64, limit - RESERVED_FILE_DESCRIPTORS)
}
