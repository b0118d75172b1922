import { isObject } from './objects.js';
import { PULL_POLICIES, type PullPolicy } from './types.js';

/** The pod-level `imagePullPolicy` a user wrote where Kubernetes ignores it. */
export interface Stray {
  /** The usable value, when the written one is a pull policy (in any letter case). */
  value?: PullPolicy;
  /** Whether the object itself holds a usable stray field, which is then removed. */
  removable: boolean;
  /** Normalisation or refusal, for the user. */
  problems: string[];
  /** Whether the value comes from pullfix's own note, the field itself being gone. */
  recorded?: boolean;
}

const BY_LOWER_CASE = new Map(PULL_POLICIES.map((p) => [p.toLowerCase(), p] as const));

function describe(raw: unknown): string {
  const text = typeof raw === 'string' ? JSON.stringify(raw) : String(JSON.stringify(raw) ?? typeof raw);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

interface Read {
  value?: PullPolicy;
  problem?: string;
}

function normalise(raw: unknown): Read {
  if (typeof raw === 'string') {
    if ((PULL_POLICIES as readonly string[]).includes(raw)) return { value: raw as PullPolicy };
    const normalised = BY_LOWER_CASE.get(raw.toLowerCase());
    if (normalised) return { value: normalised, problem: `pod-level imagePullPolicy ${describe(raw)} read as ${normalised}` };
  }
  return { problem: `pod-level imagePullPolicy ${describe(raw)} is not Always, IfNotPresent or Never; ignored` };
}

/**
 * Reads the stray field. For built-in kinds the decoder dropped it and only the last-applied
 * configuration still has it; schemaless custom resources keep it in the object too. The
 * last-applied value is preferred when both exist: once the field is removed from the object
 * the annotation is all a reinvocation sees, and both calls must reach the same answer.
 */
export function readStray(podSpec: unknown, lastAppliedPodSpec: unknown, recorded?: string): Stray | undefined {
  const inObject = isObject(podSpec) && 'imagePullPolicy' in podSpec;
  const inLastApplied = isObject(lastAppliedPodSpec) && 'imagePullPolicy' in lastAppliedPodSpec;
  if (!inObject && !inLastApplied) {
    // A value pullfix already moved on an earlier call: apply it again, silently.
    return recorded === undefined ? undefined : { value: normalise(recorded).value, removable: false, problems: [], recorded: true };
  }
  const objectRead = inObject ? normalise(podSpec.imagePullPolicy) : undefined;
  const read = inLastApplied ? normalise(lastAppliedPodSpec.imagePullPolicy) : (objectRead as Read);
  const stray: Stray = {
    // An unusable value is left where it is: it does no harm there and nothing is lost.
    // Removed only when the value in force is usable too: otherwise the user's record and the
    // object disagree and the object's field is left for them to see.
    removable: objectRead?.value !== undefined && read.value !== undefined,
    problems: read.problem ? [read.problem] : [],
  };
  // Not `{ ...(read.value ? { value } : {}), … }`: V8 (Node 20) builds an object literal that
  // opens with a spread on a slow path, about 1.5 µs a call, a tenth of a whole review.
  if (read.value) stray.value = read.value;
  return stray;
}
