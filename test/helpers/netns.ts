/**
 * Throwaway "hosts" for partition tests (test-components.md §7): one network namespace per host on a bridge
 * in its own namespace, addresses from the loopback range 127.77.x.0/24, the root namespace untouched. A link
 * is cut and healed at the bridge port, as a switch failing would. Needs root.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

export interface NetnsHosts {
  /** Namespace name of each host. */
  ns: Record<string, string>
  /** Address of each host on the bridge. */
  address: Record<string, string>
  cut(host: string): void
  heal(host: string): void
  /** Deletes every namespace (stop the processes in them first, by PID). */
  destroy(): void
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

export function createHosts(names: string[]): NetnsHosts {
  // Unique per test run, so parallel engineers' and runs' namespaces never collide; short, as interface
  // names are limited to 15 bytes.
  const prefix = `h${randomBytes(3).toString('hex')}`
  const subnet = 100 + ((randomBytes(1)[0] as number) % 100)
  const bridgeNs = `${prefix}-net`
  const created: string[] = []
  const ns: Record<string, string> = {}
  const address: Record<string, string> = {}
  const destroy = (): void => {
    for (const name of created.reverse()) {
      try {
        ip('netns', 'del', name)
      } catch {
        // already gone
      }
    }
  }
  try {
    ip('netns', 'add', bridgeNs)
    created.push(bridgeNs)
    ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', bridgeNs, 'link', 'set', 'br0', 'up')
    names.forEach((host, i) => {
      const hostNs = `${prefix}-${host}`
      ip('netns', 'add', hostNs)
      created.push(hostNs)
      ip(
        'link',
        'add',
        `${prefix}${i}`,
        'netns',
        hostNs,
        'type',
        'veth',
        'peer',
        'name',
        `port-${host}`,
        'netns',
        bridgeNs,
      )
      ip('-n', bridgeNs, 'link', 'set', 'dev', `port-${host}`, 'master', 'br0', 'up')
      ip('-n', hostNs, 'link', 'set', `${prefix}${i}`, 'name', 'eth0')
      execFileSync('ip', [
        'netns',
        'exec',
        hostNs,
        'sysctl',
        '-qw',
        'net.ipv4.conf.all.route_localnet=1',
        'net.ipv4.conf.default.route_localnet=1',
        'net.ipv4.conf.eth0.route_localnet=1',
      ])
      // lo owns only 127.0.0.1, so the rest of 127/8 leaves through eth0 to the other hosts.
      ip('-n', hostNs, 'addr', 'add', '127.0.0.1/32', 'dev', 'lo')
      ip('-n', hostNs, 'link', 'set', 'lo', 'up')
      try {
        ip('-n', hostNs, 'addr', 'del', '127.0.0.1/8', 'dev', 'lo')
      } catch {
        // not there on this kernel
      }
      address[host] = `127.77.${subnet}.${i + 1}`
      ip('-n', hostNs, 'addr', 'add', `${address[host]}/24`, 'dev', 'eth0')
      ip('-n', hostNs, 'link', 'set', 'eth0', 'up')
      ns[host] = hostNs
    })
  } catch (error) {
    destroy()
    throw error
  }
  return {
    ns,
    address,
    cut: (host) => ip('-n', bridgeNs, 'link', 'set', 'dev', `port-${host}`, 'down'),
    heal: (host) => ip('-n', bridgeNs, 'link', 'set', 'dev', `port-${host}`, 'up'),
    destroy,
  }
}
