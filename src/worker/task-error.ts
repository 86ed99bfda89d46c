import { UserAbortedError } from './http/http-client.js'
import { isStopUser } from './scenario.js'
import { recordedErrors } from './user-context.js'

/**
 * What a throw out of a task (or a hook, or an open-model iteration) means — one rule for all three:
 * - `end`: StopUser, or the user is being stopped (its abort tripped): the user ends quietly, nothing recorded;
 * - `recorded`: measure() already recorded it as a failed request: do not count it twice;
 * - `report`: anything else goes to the master as an `exception` (Locust's exceptions table).
 */
export function taskErrorOutcome(error: unknown, aborted: boolean): 'end' | 'recorded' | 'report' {
  if (isStopUser(error) || error instanceof UserAbortedError || aborted) return 'end'
  return recordedErrors.has(error as object) ? 'recorded' : 'report'
}
