import type { MasterPlan } from '../../src/master/plan.js'

/** A small plan for tests; override what the test is about. */
export function testPlan(overrides: Partial<MasterPlan> = {}): MasterPlan {
  return {
    runId: `test-${Date.now()}`,
    scenarioName: 'vote',
    scenarioFile: 'test/helpers/locustfiles/vote_locustfile.py',
    host: null,
    userClasses: [{ name: 'Voter', weight: 1 }],
    users: 4,
    spawnRate: 4,
    durationMs: 6000,
    stages: null,
    open: null,
    warmupMs: 0,
    stopTimeoutMs: 2000,
    thresholds: [],
    expectWorkers: 1,
    expectWorkersTimeoutMs: 30_000,
    labels: {},
    gitCommit: null,
    ...overrides,
  }
}
