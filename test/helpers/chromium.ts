import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

/**
 * Debian's headless Chromium driven by playwright-core (never `playwright install`). Every request that is
 * not file: or data: is aborted and recorded, so a test can assert that a page needs no network. The time
 * zone is pinned so screenshots are reproducible.
 */
export const CHROMIUM_PATH = process.env.HORDE_CHROMIUM ?? '/usr/bin/chromium'

export interface OpenedPage {
  page: Page
  context: BrowserContext
  /** Requests that tried to leave the machine (blocked). */
  blocked: string[]
  /** console.error/warning lines and uncaught page errors. */
  problems: string[]
  /** Dialogs (alert/confirm/prompt) that opened: any is a script injection. */
  dialogs: string[]
  close: () => Promise<void>
}

export async function openInChromium(
  fileUrl: string,
  viewport = { width: 1400, height: 1000 },
  /** Origins (e.g. a loopback master's http://127.0.0.1:PORT) the page may reach besides file: and data:. */
  allowOrigins: readonly string[] = [],
): Promise<OpenedPage> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'horde-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    timezoneId: 'UTC',
    locale: 'en-US',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--disable-dev-shm-usage',
    ],
  })
  const close = async (): Promise<void> => {
    await context.close().catch(() => {})
    await rm(userDataDir, { recursive: true, force: true })
  }
  try {
    const blocked: string[] = []
    const problems: string[] = []
    const dialogs: string[] = []
    await context.route('**/*', async (route) => {
      const url = route.request().url()
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue()
      if (allowOrigins.some((origin) => url.startsWith(`${origin}/`))) return route.continue()
      blocked.push(url)
      return route.abort()
    })
    const page = context.pages()[0] ?? (await context.newPage())
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
    page.on('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    await page.goto(fileUrl)
    return { page, context, blocked, problems, dialogs, close }
  } catch (error) {
    await close()
    throw error
  }
}
