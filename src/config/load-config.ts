import { readFileSync } from 'node:fs';
import { parse, YAMLParseError } from 'yaml';
import { ConfigError } from '../engine/errors.js';
import { DEFAULT_CONFIG, parseConfig } from '../engine/config.js';
import type { PullfixConfig } from '../engine/types.js';

/** Reads and validates a config file; every failure is a ConfigError naming the file. */
export function loadConfigFile(file: string | undefined): PullfixConfig {
  if (file === undefined) return { ...DEFAULT_CONFIG };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '(file)', `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text, { prettyErrors: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const line = err.linePos?.[0].line;
      throw new ConfigError(file, line ? `line ${line}` : '(yaml)', `invalid YAML: ${err.message.split('\n')[0]}`);
    }
    throw err;
  }
  return parseConfig(raw, file);
}
