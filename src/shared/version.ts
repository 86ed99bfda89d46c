/** The package version, used in logs, results and Datadog's unified `version` tag. Kept in one place. */
export const HORDE_VERSION = '0.1.0'
