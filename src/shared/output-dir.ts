import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

/**
 * `mkdir -p` without Node's `mkdir(..., { recursive: true })`, which spins forever (and ignores SIGTERM's
 * graceful path) on a path under /proc such as /proc/x/y. Each level is made on its own, so a bad parent
 * fails at once with its own error.
 */
export async function makeDirectory(dir: string): Promise<void> {
  const absolute = resolve(dir)
  const missing: string[] = []
  // Walk up to the first level that exists; the depth of a path bounds this loop.
  for (let current = absolute; ; current = dirname(current)) {
    const existing = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null
      throw error
    })
    if (existing !== null) {
      if (!existing.isDirectory())
        throw Object.assign(new Error(`${current} is not a directory`), { code: 'ENOTDIR' })
      break
    }
    missing.push(current)
    if (dirname(current) === current) break
  }
  for (const level of missing.reverse()) {
    await mkdir(level).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error
    })
  }
}

/**
 * Makes `dir` and proves a file can be written there (and removed), so a run never loads a target for
 * minutes only to find it cannot keep its results. Throws the file system's error as is.
 */
export async function probeWritableDirectory(dir: string): Promise<void> {
  await makeDirectory(dir)
  const probe = resolve(dir, `.horde-write-probe-${process.pid}`)
  await writeFile(probe, 'horde checks this folder is writable before the load\n')
  await rm(probe, { force: true })
}
