/**
 * Request types the database clients record (src/worker/db/db-client.ts), which the master's progress line, the
 * JdbcRunner-style CSVs and the report read back from the stats rows: one place for the three words.
 */
/** A statement. */
export const SQL_TYPE = 'SQL'
/** A transaction (db.tx): BEGIN … COMMIT with its statements. */
export const TX_TYPE = 'TX'
/** The wait for a pooled connection before a statement or transaction. */
export const POOL_TYPE = 'POOL'
/** Suffix of a POOL row's name: `<query or transaction name> pool wait`. */
export const POOL_WAIT_SUFFIX = ' pool wait'
