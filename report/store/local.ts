import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import type { PutOptions, Store } from './store.js'

/** A folder on disk: the default store, and the one every run writes first. */
export function localStore(base: string): Store {
  const root = resolve(base)
  const pathOf = (key: string): string => {
    const p = resolve(root, ...key.split('/'))
    if (p !== root && !p.startsWith(root + sep)) throw new Error(`store key escapes the base folder: ${key}`)
    return p
  }
  return {
    kind: 'local',
    location: root,
    async put(key: string, body: string | Buffer, _options?: Partial<PutOptions>) {
      const path = pathOf(key)
      await mkdir(dirname(path), { recursive: true })
      // Write then rename, so a reader (or a crash) never sees half an index.
      const tmp = `${path}.${process.pid}.tmp`
      await writeFile(tmp, body)
      await rename(tmp, path)
    },
    async get(key: string) {
      try {
        return await readFile(pathOf(key))
      } catch (error) {
        if (
          (error as NodeJS.ErrnoException).code === 'ENOENT' ||
          (error as NodeJS.ErrnoException).code === 'EISDIR'
        )
          return null
        throw error
      }
    },
    async list(prefix: string, options?: { maxDepth?: number }) {
      const maxDepth = options?.maxDepth ?? Infinity
      const start = prefix === '' ? root : pathOf(prefix.replace(/\/+$/, ''))
      const out: string[] = []
      const walk = async (dir: string, rel: string): Promise<void> => {
        let entries
        try {
          entries = await readdir(dir, { withFileTypes: true })
        } catch (error) {
          // A history folder may sit in a shared parent (/tmp, a workspace): skip what we cannot read.
          if (['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? ''))
            return
          throw error
        }
        await Promise.all(
          entries.map(async (e) => {
            const key = rel === '' ? e.name : `${rel}/${e.name}`
            // Only as deep as the caller looks: never walk a whole unrelated tree.
            if (e.isDirectory() && key.split('/').length < maxDepth) await walk(join(dir, e.name), key)
            else if (e.isFile() && !e.name.endsWith('.tmp')) out.push(key)
          }),
        )
      }
      await walk(start, prefix.replace(/\/+$/, ''))
      return out.sort()
    },
    async url(key: string) {
      return pathOf(key)
    },
  }
}
