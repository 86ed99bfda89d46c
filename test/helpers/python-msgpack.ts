/**
 * Runs a short Python script with Debian's /usr/bin/python3 (which has Locust's msgpack and pyzmq) and exchanges
 * JSON with it: `input` goes to stdin, stdout is parsed. The prelude gives scripts Locust's exact decode call
 * (`locust_loads`, latest's datetime object_hook included) and `view()`, the same JSON rendering the fixture
 * manifests use ({"__float__"}, {"__pairs__": [[k, v, "int"|"float"]]}, {"__datetime__"}).
 */
import { spawn, type ChildProcess } from 'node:child_process'

export const PYTHON = '/usr/bin/python3'

const PRELUDE = `
import sys, json, datetime, binascii
import msgpack

def locust_decode_hook(obj):
    if "__datetime__" in obj:
        return datetime.datetime.strptime(obj["as_str"], "%Y%m%dT%H:%M:%S.%f")
    return obj

def locust_loads(payload):
    return msgpack.loads(payload, raw=False, strict_map_key=False, object_hook=locust_decode_hook)

def locust_dumps(value):
    def encode(obj):
        if isinstance(obj, datetime.datetime):
            return {"__datetime__": True, "as_str": obj.strftime("%Y%m%dT%H:%M:%S.%f")}
        raise TypeError(repr(obj))
    return msgpack.dumps(value, default=encode)

def view(value):
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: view(v) for k, v in value.items()}
        return {"__pairs__": [[k, view(v), type(k).__name__] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [view(v) for v in value]
    if isinstance(value, float):
        return {"__float__": value}
    if isinstance(value, datetime.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, bytes):
        return {"__bytes__": value.hex()}
    return value

INPUT = json.load(sys.stdin)
def unhex(text):
    return binascii.unhexlify(text)
def reply(value):
    json.dump(value, sys.stdout)
`

/** Runs `script` (after the prelude) to completion within timeoutMs and returns what it printed as JSON. */
export async function runPython<T>(script: string, input: unknown, timeoutMs = 20_000): Promise<T> {
  const child = spawn(PYTHON, ['-c', PRELUDE + script], { stdio: ['pipe', 'pipe', 'pipe'] })
  try {
    const output = await collect(child, JSON.stringify(input), timeoutMs)
    return JSON.parse(output) as T
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

/** Starts a long-running Python script; the caller must call stop() (in finally/afterEach). */
export function startPython(script: string, input: unknown): PythonProcess {
  const child = spawn(PYTHON, ['-u', '-c', PRELUDE + script], { stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.end(JSON.stringify(input))
  return new PythonProcess(child)
}

export class PythonProcess {
  private stdout = ''
  private stderr = ''
  private readonly exited: Promise<number | null>

  constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)))
  }

  /** Waits for the next complete stdout line that is JSON and satisfies `match`. */
  async line<T>(match: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      for (const text of this.stdout.split('\n').slice(0, -1)) {
        try {
          const value = JSON.parse(text) as T
          if (match(value)) return value
        } catch {
          // not JSON: ignore
        }
      }
      if (this.child.exitCode !== null)
        throw new Error(`python exited (${this.child.exitCode}): ${this.stderr}`)
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for python output; stderr: ${this.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
  }
}

function collect(child: ChildProcess, input: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(
      () => reject(new Error(`python timed out after ${timeoutMs} ms; stderr: ${stderr}`)),
      timeoutMs,
    )
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(stdout)
      else reject(new Error(`python exited with ${code}: ${stderr}`))
    })
    child.stdin?.end(input)
  })
}
