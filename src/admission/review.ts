// Decoding an AdmissionReview: the shape checks that let everything after them trust the data.
import { BadRequestError } from './errors.js';
import { isObject } from '../engine/explicit.js';
import type { Operation } from '../engine/kinds.js';

export const REVIEW_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type ReviewVersion = (typeof REVIEW_VERSIONS)[number];

const OPERATIONS: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** The parts of an AdmissionRequest pullfix reads. */
export interface AdmissionRequest {
  apiVersion: ReviewVersion;
  uid: string;
  group: string;
  version: string;
  kind: string;
  namespace: string;
  name: string;
  operation: Operation;
  subResource?: string;
  object: unknown;
  oldObject?: unknown;
  dryRun: boolean;
}


function optionalString(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Validates a parsed body; throws BadRequestError saying what is missing. */
export function decodeReview(body: unknown): AdmissionRequest {
  if (!isObject(body)) throw new BadRequestError('body is not a JSON object');
  if (body.kind !== 'AdmissionReview') throw new BadRequestError('body is not an AdmissionReview (kind must be "AdmissionReview")');
  const apiVersion = body.apiVersion;
  if (typeof apiVersion !== 'string' || !(REVIEW_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new BadRequestError(`unsupported AdmissionReview apiVersion ${JSON.stringify(apiVersion)}; expected ${REVIEW_VERSIONS.join(' or ')}`);
  }
  const request = body.request;
  if (!isObject(request)) throw new BadRequestError('AdmissionReview has no request');
  if (typeof request.uid !== 'string' || request.uid === '') throw new BadRequestError('AdmissionReview request has no uid');
  const kind = request.kind;
  if (!isObject(kind) || typeof kind.kind !== 'string') throw new BadRequestError('AdmissionReview request has no kind');
  const operation = request.operation;
  if (typeof operation !== 'string' || !OPERATIONS.includes(operation)) {
    throw new BadRequestError(`AdmissionReview request has no valid operation (got ${JSON.stringify(operation)})`);
  }
  const subResource = optionalString(request.subResource);
  return {
    apiVersion: apiVersion as ReviewVersion,
    uid: request.uid,
    group: optionalString(kind.group),
    version: optionalString(kind.version),
    kind: kind.kind,
    namespace: optionalString(request.namespace),
    name: optionalString(request.name),
    operation: operation as Operation,
    ...(subResource ? { subResource } : {}),
    object: request.object,
    oldObject: request.oldObject ?? undefined,
    dryRun: request.dryRun === true,
  };
}
