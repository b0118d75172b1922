// Deciding each entry's pull policy: SPEC §4's precedence over every image the pod pulls.

import { ENTRY_WORDS, formatWarning } from './describe.js';
import { entryField, isExplicit, type History } from './explicit.js';
import { classifyImage, defaultPullPolicy, parseImageReference } from './image-reference.js';
import type { EffectivePolicy } from './namespace-policy.js';
import type { ChangeReason } from './note.js';
import { getPath, isObject } from './objects.js';
import { ENTRY_FIELDS, type ContainerList, type ImageClass, type JsonObject, type PullPolicy } from './types.js';

/**
 * Where the object comes from. `admission`: the API server has defaulted it, so explicitness
 * must be inferred (SPEC §4). `manifest`: nothing is defaulted, a written value is explicit.
 */
export type Source = 'admission' | 'manifest';

export interface ContainerChange {
  list: ContainerList;
  index: number;
  name: string;
  from?: string;
  to: PullPolicy;
  reason: ChangeReason;
  /** The image's class; absent where the image is missing or does not parse (a stray value only). */
  imageClass?: ImageClass;
}

export interface Decision {
  target?: PullPolicy;
  reason?: ChangeReason;
}

/**
 * SPEC §4's precedence tables, rows 2–5 (row 1, exempt images, is decided by the caller).
 * `apiDefault` is row 5, the API server's default for this image; undefined where the entry has
 * no value to correct (nothing defaulted it, so there is nothing another image left behind).
 */
export function decide(
  mode: 'default' | 'enforce',
  explicit: boolean,
  stray: PullPolicy | undefined,
  classPolicy: PullPolicy | undefined,
  apiDefault?: PullPolicy,
): Decision {
  if (mode === 'enforce') {
    if (classPolicy) return { target: classPolicy, reason: 'policy' };
    if (explicit) return {};
  } else {
    if (explicit) return {};
  }
  if (stray) return { target: stray, reason: 'stray' };
  if (mode === 'default' && classPolicy) return { target: classPolicy, reason: 'policy' };
  if (apiDefault) return { target: apiDefault, reason: 'default' };
  return {};
}

export interface PlanInput {
  policy: EffectivePolicy;
  source: Source;
  podSpec: JsonObject;
  history: History;
  /** The stray pod-level value in force; it goes to containers, init containers and image volumes. */
  stray?: PullPolicy;
  /** On the ephemeralcontainers subresource: only the ephemeral containers the request adds. */
  ephemeral: boolean;
  /** On that subresource, the names already there (immutable, never touched). */
  existingEphemeral?: ReadonlySet<unknown>;
}

export interface Plan {
  changes: ContainerChange[];
  /**
   * Entries whose value pullfix decided and found already in place, although it is not what
   * defaulting gives this image (a value carried over from the old image that the class policy
   * wants too). Nothing changes, but the note must record them: otherwise the next update reads
   * the value as the user's (rule 7) and keeps it after the policy that chose it is gone.
   */
  adopted: ContainerChange[];
  warnings: string[];
}

const POD_LISTS: readonly ContainerList[] = ['containers', 'initContainers', 'volumes'];
const EPHEMERAL_LISTS: readonly ContainerList[] = ['ephemeralContainers'];

/** Every entry of the pod spec that pulls an image, with its list and index. */
export function* pullingEntries(podSpec: unknown, lists: readonly ContainerList[]): Generator<{ list: ContainerList; index: number; entry: JsonObject }> {
  for (const list of lists) {
    const entries = getPath(podSpec, [list]);
    if (!Array.isArray(entries)) continue;
    for (let index = 0; index < entries.length; index++) {
      const entry: unknown = entries[index];
      // A volume pulls an image only when it is an image volume.
      if (!isObject(entry) || (list === 'volumes' && !isObject(entry.image))) continue;
      yield { list, index, entry };
    }
  }
}

/** How the plan, the note and messages name an entry: its name, or `#INDEX` when it has none. */
export function entryName(entry: JsonObject, index: number): string {
  return typeof entry.name === 'string' ? entry.name : `#${index}`;
}

/** What an entry of a pod spec holds now: its pull policy and image. */
export interface Held {
  value: unknown;
  image: unknown;
}

const ALL_LISTS = Object.keys(ENTRY_FIELDS) as readonly ContainerList[];

/**
 * Every entry of a pod spec that pulls an image, by `LIST/NAME` (named as the plan names them;
 * names repeat in objects the API server has not validated yet, hence a list), built once so
 * that reading a note against the pod spec costs linear time.
 */
export function heldByName(podSpec: unknown): Map<string, Held[]> {
  const held = new Map<string, Held[]>();
  for (const { list, index, entry } of pullingEntries(podSpec, ALL_LISTS)) {
    const key = `${list}/${entryName(entry, index)}`;
    const found = { value: entryField(entry, list, 'pullPolicy'), image: entryField(entry, list, 'image') };
    const same = held.get(key);
    if (same) same.push(found);
    else held.set(key, [found]);
  }
  return held;
}

function explicitIn(input: PlanInput, list: ContainerList, name: string, entry: JsonObject, image: string): boolean {
  if (input.source === 'manifest') return typeof entryField(entry, list, 'pullPolicy') === 'string';
  return isExplicit(input.history, list, name, entry, image);
}

export function planEntries(input: PlanInput): Plan {
  const { policy } = input;
  const mode = policy.mode === 'enforce' ? 'enforce' : 'default';
  const changes: ContainerChange[] = [];
  const adopted: ContainerChange[] = [];
  const warnings: string[] = [];

  for (const { list, index, entry } of pullingEntries(input.podSpec, input.ephemeral ? EPHEMERAL_LISTS : POD_LISTS)) {
    const name = entryName(entry, index);
    if (input.existingEphemeral?.has(entry.name)) continue;
    const image = entryField(entry, list, 'image');
    const parsed = typeof image === 'string' ? parseImageReference(image) : undefined;
    if (typeof image !== 'string' || !parsed?.ok) {
      // A manifest may name a container without its image (a kustomize patch) or with one a
      // later step fills in (`${REGISTRY}/app:${TAG}`): the pod-level value still belongs to it,
      // since it does not depend on the image. Class policies and admitted objects need one.
      const strayOnly = input.source === 'manifest' && input.stray !== undefined && typeof entryField(entry, list, 'pullPolicy') !== 'string';
      if (parsed && !parsed.ok) {
        const outcome = strayOnly ? 'given the pod-level value only' : 'left alone';
        warnings.push(formatWarning(`${ENTRY_WORDS[list]} ${JSON.stringify(name)}: image ${JSON.stringify(image)} does not parse (${parsed.error}); ${outcome}`));
      }
      if (strayOnly) changes.push({ list, index, name, to: input.stray!, reason: 'stray' });
      continue;
    }
    if (policy.isExempt(image)) continue;
    const imageClass = classifyImage(parsed.ref, policy.mutableTags);
    const current = entryField(entry, list, 'pullPolicy');
    const explicit = explicitIn(input, list, name, entry, image);
    const apiDefault = typeof current === 'string' ? defaultPullPolicy(image) : undefined;
    const decision = decide(mode, explicit, input.stray, policy.policies[imageClass], apiDefault);
    if (!decision.target) continue;
    const change: ContainerChange = {
      list,
      index,
      name,
      ...(typeof current === 'string' ? { from: current } : {}),
      to: decision.target,
      reason: decision.reason ?? 'policy',
      imageClass,
    };
    if (decision.target !== current) changes.push(change);
    else if (input.source === 'admission' && !explicit && current !== apiDefault) adopted.push(change);
  }
  return { changes, adopted, warnings };
}
