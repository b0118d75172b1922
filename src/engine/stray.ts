import { isObject } from './explicit.js';
import { PULL_POLICIES, type PullPolicy } from './types.js';

/** The pod-level `imagePullPolicy` a user wrote where Kubernetes ignores it. */
export interface Stray {
  /** The usable value, when the written one is a pull policy (in any letter case). */
  value?: PullPolicy;
  /** Whether the field is present in the object itself (and so must be removed). */
  inObject: boolean;
  /** Normalisation or refusal, for the user. */
  problems: string[];
}

const BY_LOWER_CASE = new Map(PULL_POLICIES.map((p) => [p.toLowerCase(), p] as const));

function describe(raw: unknown): string {
  const text = typeof raw === 'string' ? JSON.stringify(raw) : String(JSON.stringify(raw) ?? typeof raw);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Reads the stray field from the object's pod spec or, for built-in kinds whose decoder
 * dropped it, from the pod spec in the last-applied configuration. The object wins: it is
 * what is being written now.
 */
export function readStray(podSpec: unknown, lastAppliedPodSpec: unknown): Stray | undefined {
  let raw: unknown;
  let inObject = false;
  if (isObject(podSpec) && 'imagePullPolicy' in podSpec) {
    raw = podSpec.imagePullPolicy;
    inObject = true;
  } else if (isObject(lastAppliedPodSpec) && 'imagePullPolicy' in lastAppliedPodSpec) {
    raw = lastAppliedPodSpec.imagePullPolicy;
  } else {
    return undefined;
  }
  if (typeof raw === 'string') {
    if ((PULL_POLICIES as readonly string[]).includes(raw)) return { value: raw as PullPolicy, inObject, problems: [] };
    const normalised = BY_LOWER_CASE.get(raw.toLowerCase());
    if (normalised) {
      return { value: normalised, inObject, problems: [`pod-level imagePullPolicy ${describe(raw)} read as ${normalised}`] };
    }
  }
  return {
    inObject,
    problems: [`pod-level imagePullPolicy ${describe(raw)} is not Always, IfNotPresent or Never; ignored`],
  };
}
