/**
 * Horde's public API: everything a scenario imports from 'horde'.
 *
 * ```ts
 * import { defineScenario, user, task, between } from 'horde'
 * export default defineScenario({
 *   name: 'vote-app',
 *   host: 'http://127.0.0.1:8080',
 *   users: { Voter: user({ wait: between('1s', '2s'), tasks: { results: task(1, ({ http }) => http.get('/results')) } }) },
 * })
 * ```
 * @packageDocumentation
 */
export {
  defineScenario,
  user,
  task,
  between,
  constant,
  constantPacing,
  constantThroughput,
  StopUser,
  isStopUser,
} from './scenario.js'
export type {
  Scenario,
  ScenarioOptions,
  UserDefinition,
  UserOptions,
  TaskDefinition,
  TaskFn,
  TaskContext,
  RecordSample,
  WaitSpec,
  HttpOptions,
  Stage,
  RateStage,
} from './scenario-types.js'
export type { HttpClient, HttpResponse, RequestOptions } from './http/http-types.js'
export { definePostgres, defineMysql } from './db/db-define.js'
export type { DbApi, DbClient, DbQueryable, DbQueryOptions } from './db/db-client.js'
export type { DbOptions, DbPoolOptions, DbTarget } from './db/db-options.js'
export type { DbResult } from './db/db-drivers.js'
export type { PhaseContext, PhaseFn } from './scenario-types.js'
