// The function's configuration, in the two forms orchestrators pass: a ConfigMap (what
// `kpt fn eval ... -- mutable=Always` builds, and the simplest thing to write in a
// kustomization) or a PullfixConfig object carrying the config file's fields.

import { DEFAULT_CONFIG, parseConfig } from '../engine/config.js';
import { ConfigError } from '../engine/errors.js';
import { isObject } from '../engine/explicit.js';
import type { PullfixConfig } from '../engine/types.js';
import { KrmError } from './krm-error.js';

export const PULLFIX_CONFIG_API_VERSION = 'pullfix.dev/v1alpha1';
export const PULLFIX_CONFIG_KIND = 'PullfixConfig';

/** ConfigMap `data` keys and the config fields they stand for. */
const CONFIGMAP_KEYS: Record<string, string> = {
  mode: 'mode',
  mutable: 'policies.mutable',
  tagged: 'policies.tagged',
  digest: 'policies.digest',
  mutableTags: 'mutableTags',
};

function nameOf(value: Record<string, unknown>): string {
  const name = isObject(value.metadata) ? value.metadata.name : undefined;
  return typeof name === 'string' ? ` ${name}` : '';
}

function fromConfigMap(value: Record<string, unknown>): PullfixConfig {
  const where = `functionConfig (ConfigMap${nameOf(value)})`;
  const data = value.data ?? {};
  if (!isObject(data)) throw new KrmError(`${where}: data must be a mapping`);
  const raw: Record<string, unknown> = {};
  const policies: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(data)) {
    const field = CONFIGMAP_KEYS[key];
    if (field === undefined) {
      throw new KrmError(`${where}: data.${key}: unknown key; expected one of ${Object.keys(CONFIGMAP_KEYS).join(', ')}`);
    }
    if (field.startsWith('policies.')) policies[key] = entry;
    else raw[key] = entry;
  }
  if (Object.keys(policies).length > 0) raw.policies = policies;
  try {
    return parseConfig(raw, where);
  } catch (err) {
    // Name the key the user wrote (data.mutable), not the config file's field (policies.mutable).
    if (err instanceof ConfigError) throw new KrmError(`${where}: data.${err.field.replace(/^policies\./, '')}: ${err.problem}`);
    throw err;
  }
}

function fromPullfixConfig(value: Record<string, unknown>): PullfixConfig {
  const where = `functionConfig (${PULLFIX_CONFIG_KIND}${nameOf(value)})`;
  if (value.apiVersion !== PULLFIX_CONFIG_API_VERSION) {
    const got = value.apiVersion === undefined ? `it has none: add apiVersion: ${PULLFIX_CONFIG_API_VERSION}` : `got ${JSON.stringify(value.apiVersion)}`;
    throw new KrmError(`${where}: apiVersion must be ${PULLFIX_CONFIG_API_VERSION}, ${got}`);
  }
  // Orchestrators annotate the function config (index, path, local-config): metadata is theirs.
  const { apiVersion: _a, kind: _k, metadata: _m, ...fields } = value;
  try {
    return parseConfig(fields, where);
  } catch (err) {
    if (err instanceof ConfigError) throw new KrmError(err.message);
    throw err;
  }
}

/**
 * The configuration a functionConfig carries; the defaults (move stray fields, no class
 * policy) when there is none. Any other kind is an error: a function silently ignoring its
 * configuration would render manifests the user did not ask for.
 */
export function configFromFunctionConfig(value: unknown): PullfixConfig {
  if (value === undefined || value === null) return { ...DEFAULT_CONFIG };
  if (!isObject(value)) throw new KrmError('functionConfig must be a mapping (a ConfigMap or a PullfixConfig)');
  if (Object.keys(value).length === 0) return { ...DEFAULT_CONFIG };
  if (value.kind === 'ConfigMap' && value.apiVersion === 'v1') return fromConfigMap(value);
  if (value.kind === PULLFIX_CONFIG_KIND) return fromPullfixConfig(value);
  const field = (name: string, v: unknown): string => (v === undefined ? `no ${name}` : `${name} ${JSON.stringify(v)}`);
  throw new KrmError(
    `functionConfig: expected a v1 ConfigMap or a ${PULLFIX_CONFIG_API_VERSION} ${PULLFIX_CONFIG_KIND}, ` +
      `got ${field('apiVersion', value.apiVersion)} and ${field('kind', value.kind)}`,
  );
}
