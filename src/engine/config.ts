import { ConfigError } from './errors.js';
import { compileGlobs } from './glob.js';
import { tagPatternFor, type TagPattern } from './tag-pattern.js';
import {
  DEFAULT_MUTABLE_TAGS,
  IMAGE_CLASSES,
  MODES,
  PULL_POLICIES,
  type ClassPolicies,
  type ImageClass,
  type Mode,
  type PodTemplateKind,
  type PullPolicy,
  type PullfixConfig,
} from './types.js';

/** The configuration used when no file is given: move stray fields, set no class policy. */
export const DEFAULT_CONFIG: PullfixConfig = Object.freeze({
  mode: 'default',
  policies: {},
  mutableTags: DEFAULT_MUTABLE_TAGS,
  exemptImages: [],
  workloads: true,
  podTemplates: [],
}) as PullfixConfig;

/** A validated configuration with its patterns compiled once, not per request. */
export interface CompiledConfig extends PullfixConfig {
  mutableTagsPattern: TagPattern;
  isExempt: (image: string) => boolean;
}

const KNOWN_FIELDS = new Set(['mode', 'policies', 'mutableTags', 'exemptImages', 'workloads', 'podTemplates']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}

/**
 * Validates a parsed config document. Throws ConfigError naming `file`, the field and the
 * problem; unknown fields are errors too, since a misspelt field silently doing nothing is
 * exactly the kind of surprise pullfix exists to remove.
 */
export function parseConfig(raw: unknown, file: string): PullfixConfig {
  if (raw === null || raw === undefined) return { ...DEFAULT_CONFIG };
  if (!isRecord(raw)) throw new ConfigError(file, '(top level)', 'must be a mapping of fields');
  for (const key of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(key)) {
      throw new ConfigError(file, key, `unknown field; expected one of ${[...KNOWN_FIELDS].join(', ')}`);
    }
  }
  const config: PullfixConfig = { ...DEFAULT_CONFIG, policies: {}, exemptImages: [], podTemplates: [] };

  if (raw.mode !== undefined) {
    if (!oneOf<Mode>(MODES, raw.mode)) {
      throw new ConfigError(file, 'mode', `must be one of ${MODES.join(', ')}, got ${JSON.stringify(raw.mode)}`);
    }
    config.mode = raw.mode;
  }

  if (raw.policies !== undefined && raw.policies !== null) {
    if (!isRecord(raw.policies)) throw new ConfigError(file, 'policies', 'must be a mapping of image class to pull policy');
    const policies: ClassPolicies = {};
    for (const [cls, value] of Object.entries(raw.policies)) {
      if (!oneOf<ImageClass>(IMAGE_CLASSES, cls)) {
        throw new ConfigError(file, `policies.${cls}`, `unknown image class; expected one of ${IMAGE_CLASSES.join(', ')}`);
      }
      if (!oneOf<PullPolicy>(PULL_POLICIES, value)) {
        throw new ConfigError(
          file,
          `policies.${cls}`,
          `must be one of ${PULL_POLICIES.join(', ')} (case-sensitive), got ${JSON.stringify(value)}`,
        );
      }
      policies[cls] = value;
    }
    config.policies = policies;
  }

  if (raw.mutableTags !== undefined) {
    if (typeof raw.mutableTags !== 'string') throw new ConfigError(file, 'mutableTags', 'must be a string (a regular expression, RE2 syntax)');
    // Bounded in size as well as linear-time (tag-pattern.ts); compiled here once, and the
    // compiled pattern is what compileConfig picks up.
    const compiled = tagPatternFor(raw.mutableTags);
    if (typeof compiled === 'string') throw new ConfigError(file, 'mutableTags', compiled);
    config.mutableTags = raw.mutableTags;
  }

  if (raw.exemptImages !== undefined && raw.exemptImages !== null) {
    if (!Array.isArray(raw.exemptImages)) throw new ConfigError(file, 'exemptImages', 'must be a list of image globs');
    raw.exemptImages.forEach((glob, i) => {
      if (typeof glob !== 'string' || glob === '') {
        throw new ConfigError(file, `exemptImages[${i}]`, 'must be a non-empty string (an image glob)');
      }
    });
    config.exemptImages = [...(raw.exemptImages as string[])];
  }

  if (raw.workloads !== undefined) {
    if (typeof raw.workloads !== 'boolean') throw new ConfigError(file, 'workloads', 'must be true or false');
    config.workloads = raw.workloads;
  }

  if (raw.podTemplates !== undefined && raw.podTemplates !== null) {
    if (!Array.isArray(raw.podTemplates)) throw new ConfigError(file, 'podTemplates', 'must be a list of {group, kind, path}');
    config.podTemplates = raw.podTemplates.map((entry, i): PodTemplateKind => {
      const field = `podTemplates[${i}]`;
      if (!isRecord(entry)) throw new ConfigError(file, field, 'must be a mapping with group, kind and path');
      const { group, kind, path } = entry;
      if (typeof group !== 'string') throw new ConfigError(file, `${field}.group`, 'must be a string (use "" for the core group)');
      if (typeof kind !== 'string' || kind === '') throw new ConfigError(file, `${field}.kind`, 'must be a non-empty string');
      if (typeof path !== 'string' || !path.startsWith('/') || path.length < 2) {
        throw new ConfigError(file, `${field}.path`, 'must be a JSON pointer to the pod spec, such as /spec/template/spec');
      }
      return { group, kind, path };
    });
  }
  return config;
}

/** Compiles patterns once so the request path does no regular-expression construction. */
export function compileConfig(config: PullfixConfig): CompiledConfig {
  const compiled = tagPatternFor(config.mutableTags);
  if (typeof compiled === 'string') throw new ConfigError('(config)', 'mutableTags', compiled);
  return { ...config, mutableTagsPattern: compiled, isExempt: compileGlobs(config.exemptImages) };
}

export { compileTagPattern } from './tag-pattern.js';
