import { UserError } from '../util/user-error.js';

/**
 * Input the KRM function cannot work with (not a ResourceList, a bad functionConfig). The
 * message is printed alone and the function exits 2, writing nothing on stdout, so the
 * orchestrator (kustomize, kpt) stops instead of applying half-rendered output.
 */
export class KrmError extends UserError {
  override readonly name = 'KrmError';
}
