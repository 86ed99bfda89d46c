/** How an event kind looks, in the events table and as a chart marker: bad, good, warn, else info. */
export type EventStyle = 'bad' | 'good' | 'warn' | 'info'

const EVENT_STYLE: Readonly<Record<string, EventStyle>> = {
  'worker-missing': 'bad',
  'worker-removed': 'bad',
  'worker-saturated': 'bad',
  'master-behind': 'bad',
  'threshold-aborted': 'bad',
  'phase-failed': 'bad',
  'worker-recovered': 'good',
  'worker-joined': 'good',
  paused: 'warn',
  resumed: 'warn',
  'stop-requested': 'warn',
  retargeted: 'warn',
}

/** The one table: the page's script receives each marker's style with the chart data rather than a copy. */
export function eventStyle(kind: string): EventStyle {
  return Object.hasOwn(EVENT_STYLE, kind) ? (EVENT_STYLE[kind] ?? 'info') : 'info'
}
