/**
 * Replaces `process.env` with a plain copy of itself. The YAML parser reads
 * `process.env.LOG_TOKENS` once per token, and each read of the real `process.env` goes through
 * the environment of the process: on a long manifest stream that alone is a sixth of the time.
 * A plain object answers the same, and child processes still get it as their environment.
 */
export function usePlainEnv(): void {
  process.env = { ...process.env };
}
