// The one place AdmissionReview responses are built (controller-runtime's response.go): the
// uid is always copied, `allowed` is always true (pullfix fixes, warns and records; it never
// denies), and patchType is set only when there are operations.
import type { Operation as PatchOperation } from 'fast-json-patch';
import type { ReviewVersion } from './review.js';

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

/** Allowed, with a patch, warnings and the `changes` audit annotation when there are any. */
export function admissionResponse(apiVersion: ReviewVersion, uid: string, parts: ResponseParts = {}): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: true };
  if (parts.patch && parts.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(parts.patch)).toString('base64');
  }
  if (parts.warnings && parts.warnings.length > 0) response.warnings = [...parts.warnings];
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
