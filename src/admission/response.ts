// The one place AdmissionReview responses are built (controller-runtime's response.go): the
// uid is always copied, `allowed` is always true (pullfix fixes, warns and records; it never
// denies), and patchType is set only when there are operations.
import type { Operation as PatchOperation } from 'fast-json-patch';
import { formatWarning } from '../engine/describe.js';
import type { ReviewVersion } from './review.js';

/**
 * Warnings sent back at most, then one saying how many more there were. The API server writes
 * at most 4,096 characters of warnings into its response to the client (KEP-1693; past that it
 * cuts each to 256 and drops the rest), and those 4 KiB are shared with other webhooks and its
 * own warnings: 21 of pullfix's, 120 characters each at most, take 2,520 of them.
 */
export const MAX_WARNINGS = 20;

function boundedWarnings(warnings: readonly string[]): string[] {
  if (warnings.length <= MAX_WARNINGS) return [...warnings];
  return [...warnings.slice(0, MAX_WARNINGS), formatWarning(`… and ${warnings.length - MAX_WARNINGS} more`)];
}

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewResponse {
  apiVersion: ReviewVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export interface ResponseParts {
  patch?: readonly PatchOperation[];
  warnings?: readonly string[];
  changes?: string;
}

/**
 * Allowed, with a patch, warnings (at most MAX_WARNINGS and a count of the rest) and the
 * `changes` audit annotation when there are any. The annotation is the engine's summary, which
 * is bounded as the note is (engine/note.ts).
 */
export function admissionResponse(apiVersion: ReviewVersion, uid: string, parts: ResponseParts = {}): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: true };
  if (parts.patch && parts.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(parts.patch)).toString('base64');
  }
  if (parts.warnings && parts.warnings.length > 0) response.warnings = boundedWarnings(parts.warnings);
  if (parts.changes) response.auditAnnotations = { changes: parts.changes };
  return { apiVersion, kind: 'AdmissionReview', response };
}

// The fixed head of every answer, serialised once per apiVersion: per request only the
// response itself is turned into text.
const HEADS: Record<ReviewVersion, string> = {
  'admission.k8s.io/v1': '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":',
  'admission.k8s.io/v1beta1': '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","response":',
};

/** The review as JSON text, the same as JSON.stringify(review). */
export function serialiseReview(review: AdmissionReviewResponse): string {
  return `${HEADS[review.apiVersion]}${JSON.stringify(review.response)}}`;
}
