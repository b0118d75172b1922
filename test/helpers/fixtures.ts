import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root (tests run compiled from dist/test/...). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function repoPath(...segments: string[]): string {
  return path.join(REPO_ROOT, ...segments);
}

export interface Review {
  apiVersion: string;
  kind: string;
  request: {
    uid: string;
    kind: { group: string; version: string; kind: string };
    namespace?: string;
    name?: string;
    operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
    subResource?: string;
    object: Record<string, any>;
    oldObject?: Record<string, any> | null;
  };
}

/** A fresh copy of a recorded AdmissionReview from test/fixtures/reviews. */
export function loadReview(name: string): Review {
  return JSON.parse(readFileSync(repoPath('test', 'fixtures', 'reviews', name), 'utf8')) as Review;
}

/**
 * A fresh copy of an AdmissionReview recorded from a real kube-apiserver (test/fixtures/apiserver,
 * copied verbatim from the project's recordings; its README says how each was made).
 */
export function loadRecorded(name: string): Review {
  return JSON.parse(readFileSync(repoPath('test', 'fixtures', 'apiserver', name), 'utf8')) as Review;
}
