import { IMAGE_CLASSES, MODES, PULL_POLICIES, type ImageClass, type Mode, type PullPolicy, type PullfixConfig } from '../engine/types.js';
import { FixError } from './fix-error.js';

/** What the command line may override in the config file. */
export interface Overrides {
  mode?: string;
  /** `CLASS=VALUE` strings, as given to `--policy`; a later one for the same class wins. */
  policies?: readonly string[];
}

function oneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

/** Parses one `--policy` value, case-sensitively like the namespace labels. */
export function parsePolicy(arg: string): [ImageClass, PullPolicy] {
  const [cls = '', value = ''] = arg.split('=', 2);
  if (!arg.includes('=') || !oneOf<ImageClass>(IMAGE_CLASSES, cls) || !oneOf<PullPolicy>(PULL_POLICIES, value)) {
    throw new FixError(
      `--policy ${JSON.stringify(arg)}: expected CLASS=VALUE, CLASS one of ${IMAGE_CLASSES.join(', ')}, ` +
        `VALUE one of ${PULL_POLICIES.join(', ')} (case-sensitive)`,
    );
  }
  return [cls, value];
}

/** The config file's settings with the command line's mode and class policies laid over them. */
export function applyOverrides(config: PullfixConfig, overrides: Overrides): PullfixConfig {
  const policies = { ...config.policies };
  for (const arg of overrides.policies ?? []) {
    const [cls, value] = parsePolicy(arg);
    policies[cls] = value;
  }
  let mode: Mode = config.mode;
  if (overrides.mode !== undefined) {
    if (!oneOf<Mode>(MODES, overrides.mode)) {
      throw new FixError(`--mode ${JSON.stringify(overrides.mode)}: must be one of ${MODES.join(', ')}`);
    }
    mode = overrides.mode;
  }
  return { ...config, mode, policies };
}

/**
 * Where each class policy in force came from, as findings name it: the command line's
 * `--policy` (the last one for the class) or the config file's `policies` field.
 */
export function policyOrigin(config: PullfixConfig, overrides: Overrides, configFile: string | undefined): (cls: ImageClass) => string | undefined {
  return (cls) => {
    const flag = [...(overrides.policies ?? [])].reverse().find((arg) => arg.startsWith(`${cls}=`));
    if (flag !== undefined) return `--policy ${flag}`;
    const value = config.policies[cls];
    if (value === undefined) return undefined;
    return configFile === undefined ? `config policies.${cls}: ${value}` : `${configFile}: policies.${cls}: ${value}`;
  };
}
